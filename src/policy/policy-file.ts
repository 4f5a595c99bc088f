// Which policy applies: coffer.yaml, or .sops.yaml alone. Searched upward from the working
// directory; in one directory coffer.yaml wins. An explicit path (--config, COFFER_CONFIG,
// SOPS_CONFIG) is read as coffer.yaml when its name is coffer.yaml, else as .sops.yaml.

import { dirname } from 'node:path';
import { CofferError } from '../errors.js';
import { type RecipientFlags, recipientsFromFlags } from '../keys/recipients.js';
import { type CofferConfig, environmentFor, parseCofferConfig, planForEnvironment, policyPath } from './coffer-config.js';
import {
  type ConfigSources,
  loadSopsConfig,
  nodeConfigSources,
  type ResolvedCreationRule,
  resolveRecipients,
  type SopsConfig,
} from './sops-config.js';
import { findPolicyFile, type FindPolicyOptions, readConfigFile } from './locate.js';

export type Policy = { kind: 'coffer'; config: CofferConfig } | { kind: 'sops'; config: SopsConfig };

export { findPolicyFile, type FindPolicyOptions };

async function loadCofferConfig(path: string, sources: ConfigSources = nodeConfigSources()): Promise<CofferConfig> {
  return parseCofferConfig(await readConfigFile(path, sources), path, dirname(path));
}

/** The policy that applies in `cwd` (coffer.yaml first), or undefined. */
export async function loadPolicy(cwd: string, options: FindPolicyOptions, sources: ConfigSources = nodeConfigSources()): Promise<Policy | undefined> {
  const found = await findPolicyFile(cwd, options, sources);
  if (!found) return undefined;
  return found.kind === 'coffer'
    ? { kind: 'coffer', config: await loadCofferConfig(found.path, sources) }
    : { kind: 'sops', config: await loadSopsConfig(found.path, sources) };
}

/** coffer.yaml or a CONFIG_NOT_FOUND that says how to get one. */
export async function requireCofferConfig(cwd: string, options: FindPolicyOptions, command: string): Promise<CofferConfig> {
  const policy = await loadPolicy(cwd, options);
  if (policy?.kind === 'coffer') return policy.config;
  throw new CofferError('CONFIG_NOT_FOUND', `${command} needs a coffer.yaml${policy ? ` (found only ${policy.config.path})` : ''}`, {
    hints: [policy ? '`coffer init --from-sops` writes a coffer.yaml from the .sops.yaml' : '`coffer init` writes a commented coffer.yaml in the repository root'],
  });
}

export interface PolicyRecipientsInput {
  flags: RecipientFlags;
  env: Readonly<Record<string, string | undefined>>;
  /** Absolute path of the file. */
  filePath: string;
  cwd: string;
}

/**
 * Recipients for a file under a policy, with SOPS's precedence: flags (or their variables) give
 * one group of exactly those keys; otherwise coffer.yaml's environment or .sops.yaml's creation rule.
 */
export function resolvePolicyRecipients(policy: Policy | undefined, input: PolicyRecipientsInput): ResolvedCreationRule {
  if (policy?.kind !== 'coffer') return resolveRecipients({ ...input, ...(policy ? { config: policy.config } : {}) });
  const { config } = policy;
  const path = policyPath(config, input.filePath);
  const match = path === undefined ? undefined : environmentFor(config, path);
  const settings = match
    ? {
        ...(match.environment.selectionRule ? { selectionRule: match.environment.selectionRule } : {}),
        ...(match.environment.macOnlyEncrypted !== undefined ? { macOnlyEncrypted: match.environment.macOnlyEncrypted } : {}),
      }
    : {};
  const fromFlags = recipientsFromFlags(input.flags, input.env);
  if (fromFlags) return { groups: [fromFlags], ...settings, source: 'flags' };
  if (!match) {
    throw new CofferError('NO_RECIPIENTS', `no environment in ${config.path} claims ${path ?? input.filePath}`, {
      hints: [
        path === undefined ? `the file is outside ${config.dir}; move it into the repository` : `add a glob matching ${path} to the files: of an environment in coffer.yaml`,
        'or pass recipients with --age age1...',
      ],
      data: { file: input.filePath, config: config.path },
    });
  }
  const plan = planForEnvironment(config, match.environment);
  return {
    groups: plan.groups,
    ...(plan.shamirThreshold !== undefined ? { shamirThreshold: plan.shamirThreshold } : {}),
    ...settings,
    source: `${config.path}:${match.environment.line} (environment ${match.environment.name})`,
  };
}
