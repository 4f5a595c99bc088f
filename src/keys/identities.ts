// Where age identities come from, exactly in SOPS's places: --identity files, SOPS_AGE_KEY,
// SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, the default key file, then SSH keys: SOPS_AGE_SSH_PRIVATE_KEY_FILE,
// SOPS_AGE_SSH_PRIVATE_KEY_CMD, ~/.ssh/id_ed25519 and ~/.ssh/id_rsa. The environment, the file
// system and the shell are handed in (KeySources) so tests and the Action can inject them.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { CofferError } from '../errors.js';
import { AgeIdentity, unwrapWithAgeIdentities } from './age.js';
import { defaultAgeKeyFile, defaultSshKeyFiles } from './identity-sources.js';
import { isSshPrivateKeyText } from './ssh-key.js';

export { defaultAgeKeyFile };

export interface KeySources {
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  homedir: string;
  /** Rejects with an error carrying `code` (ENOENT, EACCES...) when the file cannot be read. */
  readFile(path: string): Promise<Uint8Array>;
  /** Runs `command` through the shell with `env` and resolves to its stdout; rejects if it fails. */
  runCommand(command: string, env: Readonly<Record<string, string | undefined>>): Promise<string>;
  /** Asks for the passphrase of a passphrase-protected key file; absent = cannot ask. */
  readPassphrase?(description: string): Promise<string>;
}

/** The real environment, file system and shell. */
export function nodeKeySources(): KeySources {
  return {
    env: process.env,
    platform: process.platform,
    homedir: homedir(),
    // key files are small: a synchronous read skips fs/promises (and the modules it loads) on every decrypt
    readFile: async (path) => readFileSync(path),
    // child_process loads net and dgram: only SOPS_AGE_KEY_CMD needs it
    runCommand: async (command, env) => {
      const { exec } = await import('node:child_process');
      return new Promise((resolve, reject) => {
        exec(command, { env: env as NodeJS.ProcessEnv, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
      });
    },
  };
}

export interface DiscoveredIdentities {
  identities: AgeIdentity[];
  /** What was looked at, for error messages: `SOPS_AGE_KEY_FILE=/path (2 identities)`. Never key material. */
  tried: string[];
  /**
   * SOPS_AGE_KEY_CMD and SOPS_AGE_SSH_PRIVATE_KEY_CMD, run lazily once per file recipient with
   * SOPS_AGE_RECIPIENT set, as SOPS does; appends what happened to `tried`.
   */
  identitiesForRecipient?: (recipient: string) => Promise<AgeIdentity[]>;
}

export interface DiscoverOptions {
  /** `--identity FILE` (repeatable): read first; unreadable or malformed is an error. */
  identityFiles?: string[];
}

interface ParsedKeyText {
  identities: AgeIdentity[];
  /** 1-based line numbers that hold no valid identity. */
  badLines: number[];
}

/** Key file text: one or more whitespace-separated identities per line, `#` comments, blank lines. */
export function parseAgeKeyText(text: string): ParsedKeyText {
  const identities: AgeIdentity[] = [];
  const badLines: number[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    for (const word of line.split(/\s+/)) {
      const identity = AgeIdentity.parse(word);
      if (identity) identities.push(identity);
      else if (!badLines.includes(index + 1)) badLines.push(index + 1);
    }
  });
  return { identities, badLines };
}

function count(identities: AgeIdentity[]): string {
  return `${identities.length} ${identities.length === 1 ? 'identity' : 'identities'}`;
}

const SSH_PASSPHRASE = 'passphrase-protected; coffer needs an unencrypted copy';
const SSH_PASSPHRASE_HINTS = [
  "make an unencrypted copy only coffer reads: cp ~/.ssh/id_ed25519 KEY && ssh-keygen -p -N '' -f KEY, then set SOPS_AGE_SSH_PRIVATE_KEY_FILE=KEY",
  'or use an age key instead: `coffer keygen`, and ask a current recipient to add its public key',
];

type SshKeyResult = { identity: AgeIdentity } | { problem: string; passphrase?: true };

/** An SSH private key file as an age identity (age-ssh.ts is loaded only when there is one). */
async function readSshKey(bytes: Uint8Array): Promise<SshKeyResult> {
  const { parseSshIdentity } = await import('./age-ssh.js');
  const result = parseSshIdentity(bytes);
  return 'passphrase' in result && result.passphrase ? { problem: SSH_PASSPHRASE, passphrase: true } : result;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return typeof code === 'string' ? code : 'unreadable';
}

function isPassphraseProtected(bytes: Uint8Array): boolean {
  const start = Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart();
  return start.startsWith('age-encryption.org/v1\n') || start.startsWith('-----BEGIN AGE ENCRYPTED FILE-----');
}

/** Reads key-file bytes, decrypting a passphrase-protected (age -p) key file if a prompt is available. */
async function readKeyBytes(bytes: Uint8Array, label: string, sources: KeySources): Promise<ParsedKeyText> {
  if (!isPassphraseProtected(bytes)) return parseAgeKeyText(Buffer.from(bytes).toString('utf8'));
  if (!sources.readPassphrase) {
    throw new CofferError('KEY_FILE_UNREADABLE', `${label} is passphrase-protected and no passphrase prompt is available`, {
      hints: ['run interactively, or decrypt the key file first: `age -d -o keys.txt keys.txt.age`'],
    });
  }
  const passphrase = await sources.readPassphrase(`passphrase for ${label}`);
  const text = Buffer.from(bytes).toString('latin1').trimStart();
  const file = text.startsWith('-----BEGIN') ? text : bytes;
  const plaintext = await unwrapWithAgeIdentities(file, [AgeIdentity.fromPassphrase(passphrase)]);
  if (!plaintext) throw new CofferError('KEY_FILE_UNREADABLE', `${label}: wrong passphrase`);
  return parseAgeKeyText(Buffer.from(plaintext).toString('utf8'));
}

function displayPath(path: string, home: string): string {
  return home && path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/**
 * Loads every age identity available, in SOPS's places. Sources set in the environment that fail
 * (missing file, bad line, failing command) are reported in `tried`, as SOPS collects them; they
 * only become an error (KEY_FILE_UNREADABLE) if no identity was found anywhere.
 */
export async function discoverAgeIdentities(sources: KeySources, options: DiscoverOptions = {}): Promise<DiscoveredIdentities> {
  const identities: AgeIdentity[] = [];
  const tried: string[] = [];
  const problems: string[] = [];
  const { env } = sources;

  for (const path of options.identityFiles ?? []) {
    let bytes: Uint8Array;
    try {
      bytes = await sources.readFile(path);
    } catch (error) {
      throw new CofferError('KEY_FILE_UNREADABLE', `cannot read identity file ${path} (${errorCode(error)})`, {
        hints: ['check the path given to --identity; create a key with `coffer keygen`'],
        data: { file: path },
        cause: error,
      });
    }
    if (isSshPrivateKeyText(Buffer.from(bytes.subarray(0, 64)).toString('latin1'))) {
      const ssh = await readSshKey(bytes);
      if (!('identity' in ssh)) {
        throw new CofferError(ssh.passphrase ? 'UNSUPPORTED_KEY_SOURCE' : 'KEY_FILE_UNREADABLE', `identity file ${path}: ${ssh.passphrase ? 'the ssh key is ' : ''}${ssh.problem}`, {
          hints: ssh.passphrase ? SSH_PASSPHRASE_HINTS : ['pass an unencrypted ssh-ed25519 or ssh-rsa private key, or an age key file'],
          data: { file: path },
        });
      }
      identities.push(ssh.identity);
      tried.push(`--identity ${path} (${ssh.identity.kind} identity)`);
      continue;
    }
    const parsed = await readKeyBytes(bytes, `identity file ${path}`, sources);
    if (parsed.badLines.length) {
      throw new CofferError('KEY_FILE_UNREADABLE', `identity file ${path}: line ${parsed.badLines.join(', ')} is not an age identity`, {
        hints: ['an age key file has one AGE-SECRET-KEY-1... per line; `#` starts a comment'],
        data: { file: path, lines: parsed.badLines },
      });
    }
    identities.push(...parsed.identities);
    tried.push(`--identity ${path} (${count(parsed.identities)})`);
  }

  const addText = (label: string, parsed: ParsedKeyText) => {
    identities.push(...parsed.identities);
    const bad = parsed.badLines.length ? `, line ${parsed.badLines.join(', ')} not an age identity` : '';
    tried.push(`${label} (${count(parsed.identities)}${bad})`);
    if (bad) problems.push(`${label}${bad}`);
  };
  const readSource = async (label: string, path: string, missingIsProblem: boolean) => {
    let bytes: Uint8Array;
    try {
      bytes = await sources.readFile(path);
    } catch (error) {
      tried.push(`${label} (${errorCode(error)})`);
      if (missingIsProblem || errorCode(error) !== 'not found') problems.push(`${label}: ${errorCode(error)}`);
      return;
    }
    try {
      addText(label, await readKeyBytes(bytes, label, sources));
    } catch (error) {
      if (!(error instanceof CofferError)) throw error;
      tried.push(`${label} (${error.message})`);
      problems.push(error.message);
    }
  };

  const inline = env['SOPS_AGE_KEY'];
  if (inline !== undefined) addText('SOPS_AGE_KEY', parseAgeKeyText(inline));
  const keyFile = env['SOPS_AGE_KEY_FILE'];
  if (keyFile !== undefined) await readSource(`SOPS_AGE_KEY_FILE=${keyFile}`, keyFile, true);

  // Commands run per recipient (SOPS_AGE_RECIPIENT set); their output is never echoed: it holds key material.
  const commands: ((recipient: string) => Promise<AgeIdentity[]>)[] = [];
  const runCommand = async (name: string, command: string, recipient: string, parse: (output: string) => Promise<AgeIdentity[]>): Promise<AgeIdentity[]> => {
    const label = `${name} for ${recipient}`;
    let output: string;
    try {
      output = await sources.runCommand(command, { ...env, SOPS_AGE_RECIPIENT: recipient });
    } catch (error) {
      const status = (error as { code?: unknown }).code;
      tried.push(`${label} (failed${typeof status === 'number' ? `: exit ${status}` : ''})`);
      return [];
    }
    try {
      return await parse(output);
    } catch (error) {
      if (!(error instanceof CofferError)) throw error;
      tried.push(`${label} (${error.message})`);
      return [];
    }
  };
  const command = env['SOPS_AGE_KEY_CMD'];
  if (command !== undefined) {
    tried.push('SOPS_AGE_KEY_CMD (run for each recipient)');
    commands.push((recipient) =>
      runCommand('SOPS_AGE_KEY_CMD', command, recipient, async (output) => {
        const parsed = parseAgeKeyText(output);
        addText(`SOPS_AGE_KEY_CMD for ${recipient}`, parsed);
        return parsed.identities;
      }),
    );
  }

  const defaultFile = defaultAgeKeyFile(sources);
  if (defaultFile) await readSource(`default key file ${displayPath(defaultFile, sources.homedir)}`, defaultFile, false);
  else tried.push('default key file (no user config directory)');

  // SSH private keys as age identities
  let sshPassphrase = false;
  const addSsh = (label: string, result: SshKeyResult, isProblem: boolean) => {
    if ('identity' in result) {
      identities.push(result.identity);
      tried.push(`${label} (${result.identity.kind} identity)`);
      return;
    }
    tried.push(`${label} (${result.problem})`);
    if (!isProblem) return;
    problems.push(`${label}: ${result.problem}`);
    sshPassphrase ||= result.passphrase === true;
  };
  const sshFile = env['SOPS_AGE_SSH_PRIVATE_KEY_FILE'];
  if (sshFile !== undefined) {
    const label = `SOPS_AGE_SSH_PRIVATE_KEY_FILE=${sshFile}`;
    try {
      addSsh(label, await readSshKey(await sources.readFile(sshFile)), true);
    } catch (error) {
      tried.push(`${label} (${errorCode(error)})`);
      problems.push(`${label}: ${errorCode(error)}`);
    }
  }
  const sshCommand = env['SOPS_AGE_SSH_PRIVATE_KEY_CMD'];
  if (sshCommand !== undefined) {
    tried.push('SOPS_AGE_SSH_PRIVATE_KEY_CMD (run for each recipient)');
    commands.push((recipient) =>
      runCommand('SOPS_AGE_SSH_PRIVATE_KEY_CMD', sshCommand, recipient, async (output) => {
        const result = await readSshKey(Buffer.from(output, 'utf8'));
        addSsh(`SOPS_AGE_SSH_PRIVATE_KEY_CMD for ${recipient}`, result, false);
        return 'identity' in result ? [result.identity] : [];
      }),
    );
  }
  // ~/.ssh keys are tried when present; one that cannot be used (passphrase) is noted, never an error
  const absent: string[] = [];
  for (const path of defaultSshKeyFiles(sources)) {
    let bytes: Uint8Array;
    try {
      bytes = await sources.readFile(path);
    } catch (error) {
      if (errorCode(error) === 'not found') absent.push(displayPath(path, sources.homedir));
      else tried.push(`${displayPath(path, sources.homedir)} (${errorCode(error)})`);
      continue;
    }
    addSsh(displayPath(path, sources.homedir), await readSshKey(bytes), false);
  }
  if (absent.length) tried.push(`${absent.join(', ')} (not found)`);

  if (identities.length === 0 && problems.length > 0 && commands.length === 0) {
    throw new CofferError(sshPassphrase ? 'UNSUPPORTED_KEY_SOURCE' : 'KEY_FILE_UNREADABLE', `no age identity could be loaded: ${problems.join('; ')}`, {
      hints: sshPassphrase ? SSH_PASSPHRASE_HINTS : ['point SOPS_AGE_KEY_FILE at a readable key file, or pass --identity FILE'],
      data: { tried },
    });
  }
  if (commands.length === 0) return { identities, tried };
  const cache = new Map<string, Promise<AgeIdentity[]>>();
  const identitiesForRecipient = (recipient: string) => {
    let result = cache.get(recipient);
    if (!result) {
      result = (async () => {
        const found: AgeIdentity[] = [];
        for (const run of commands) found.push(...(await run(recipient)));
        return found;
      })();
      cache.set(recipient, result);
    }
    return result;
  };
  return { identities, tried, identitiesForRecipient };
}
