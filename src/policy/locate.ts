// Where the policy files are, without reading them: coffer.yaml or .sops.yaml, searched upward
// from the working directory. Kept apart from the parsers (and the yaml package they load), so
// commands answering from a cache can find and fingerprint the policy without parsing it.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CofferError } from '../errors.js';

export const COFFER_CONFIG_NAME = 'coffer.yaml';
const MAX_SEARCH_DEPTH = 100;

export interface ConfigSources {
  readFile(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
}

/** Synchronous underneath: config files are small, and fs/promises loads modules (readline, streams) a cached `coffer log` never needs. */
export function nodeConfigSources(): ConfigSources {
  return {
    readFile: async (path) => readFileSync(path, 'utf8'),
    exists: async (path) => existsSync(path),
  };
}

/** A config file's text, or CONFIG_NOT_FOUND naming it. */
export async function readConfigFile(path: string, sources: ConfigSources): Promise<string> {
  try {
    return await sources.readFile(path);
  } catch (error) {
    throw new CofferError('CONFIG_NOT_FOUND', `cannot read config file ${path}`, { cause: error, data: { file: path } });
  }
}

export interface FindPolicyOptions {
  /** `--config FILE`. */
  configPath?: string;
  env?: Readonly<Record<string, string | undefined>>;
  onWarning?: (message: string) => void;
}

/** The first of `names` found in `cwd` or a parent directory (up to 100 levels): its path, or the name that stopped the search. */
async function searchUpward(cwd: string, names: readonly string[], sources: ConfigSources, onEach?: (dir: string) => Promise<void>): Promise<{ name: string; path: string } | undefined> {
  let dir = resolve(cwd);
  for (let depth = 0; depth < MAX_SEARCH_DEPTH; depth++) {
    for (const name of names) if (await sources.exists(join(dir, name))) return { name, path: join(dir, name) };
    await onEach?.(dir);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

async function explicitPath(cwd: string, explicit: string, hint: string, sources: ConfigSources): Promise<string> {
  const path = resolve(cwd, explicit);
  if (!(await sources.exists(path))) throw new CofferError('CONFIG_NOT_FOUND', `config file ${path} does not exist`, { hints: [hint], data: { file: path } });
  return path;
}

/**
 * The config path: `--config`, else SOPS_CONFIG, else `.sops.yaml` in `cwd` or a parent (up to
 * 100 levels). `.sops.yml` is never used; `onWarning` hears about one found on the way.
 */
export async function findSopsConfig(cwd: string, options: FindPolicyOptions, sources: ConfigSources = nodeConfigSources()): Promise<string | undefined> {
  const explicit = options.configPath ?? options.env?.['SOPS_CONFIG'];
  if (explicit) return explicitPath(cwd, explicit, options.configPath ? 'check the path given to --config' : 'check the SOPS_CONFIG variable', sources);
  const warn = options.onWarning;
  const found = await searchUpward(cwd, ['.sops.yaml'], sources, async (dir) => {
    if (warn && (await sources.exists(join(dir, '.sops.yml')))) warn(`ignoring ${join(dir, '.sops.yml')}: the config file must be named .sops.yaml`);
  });
  return found?.path;
}

/** The path of the policy file that applies in `cwd`, and its kind; undefined when there is none. */
export async function findPolicyFile(cwd: string, options: FindPolicyOptions, sources: ConfigSources = nodeConfigSources()): Promise<{ kind: 'coffer' | 'sops'; path: string } | undefined> {
  const explicit = options.configPath ?? options.env?.['COFFER_CONFIG'];
  if (explicit) {
    const path = await explicitPath(cwd, explicit, options.configPath ? 'check the path given to --config' : 'check the COFFER_CONFIG variable', sources);
    return { kind: basename(path) === COFFER_CONFIG_NAME ? 'coffer' : 'sops', path };
  }
  if (!options.env?.['SOPS_CONFIG']) {
    // in one directory coffer.yaml wins; a .sops.yaml nearer than any coffer.yaml ends the search
    const found = await searchUpward(cwd, [COFFER_CONFIG_NAME, '.sops.yaml'], sources);
    if (found?.name === COFFER_CONFIG_NAME) return { kind: 'coffer', path: found.path };
  }
  const sops = await findSopsConfig(cwd, options, sources);
  return sops ? { kind: 'sops', path: sops } : undefined;
}
