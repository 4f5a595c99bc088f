// Binds the CLI's options and environment to the key layer: which identities unwrap, which
// recipients and rules a new file gets.
import { CofferError } from '../errors.js';
import type { EncryptOptions, OpenOptions } from '../file/secrets-file.js';
import type { KeyRing, RecipientPlan } from '../file/key-ring.js';
import { type SelectionRule, type SelectionRuleKind, selectionRuleFrom } from '../format/selection.js';
import { createKeyRing as createEnvironmentKeyRing } from '../keys/key-ring.js';
import { createGpgKeySource } from '../keys/pgp.js';
import type { Policy } from '../policy/policy-file.js';
import { absolutePath } from './file-access.js';
import type { CliContext } from './context.js';
import type { KeyOptions, RecipientOptions } from './options.js';

/**
 * A key ring over `--identity` files, the context's environment and the user's gpg. With a
 * coffer.yaml, Shamir errors name recipients (`alice`) instead of printing their keys.
 */
export async function createKeyRing(context: CliContext, options: KeyOptions, policy?: Policy): Promise<KeyRing> {
  return createEnvironmentKeyRing({
    env: context.env,
    cwd: context.cwd,
    identityFiles: (options.identity ?? []).map((file) => absolutePath(context, file)),
    pgp: createGpgKeySource({ env: context.env, interactive: Boolean(context.stdin.isTTY && context.stderr.isTTY) }),
    // only an error message needs the names, so coffer.yaml is read then and not on every decrypt
    describeRecipients: async () => {
      const { indexRecipientKeys, recipientKey } = await import('../policy/coffer-config.js');
      const applied = policy ?? (await loadCommandPolicy(context, options));
      const names = applied?.kind === 'coffer' ? indexRecipientKeys(applied.config) : new Map<string, string>();
      return (key: string) => names.get(key) ?? names.get(recipientKey(key, 'pgp')) ?? (key.length > 20 ? `${key.slice(0, 16)}…` : key);
    },
  });
}

/** The policy (coffer.yaml, else .sops.yaml) that applies to the command. */
export async function loadCommandPolicy(context: CliContext, options: KeyOptions): Promise<Policy | undefined> {
  // The policy layer (yaml Document API, the coffer.yaml validator) loads only for commands that
  // need it, not on the read path of `get` and `decrypt`.
  const { loadPolicy } = await import('../policy/policy-file.js');
  return loadPolicy(context.cwd, {
    ...(options.config ? { configPath: options.config } : {}),
    env: context.env,
    onWarning: (message) => context.stderr.write(`coffer: warning: ${message}\n`),
  });
}

const RULE_OPTIONS: [keyof RecipientOptions, SelectionRuleKind][] = [
  ['encryptedRegex', 'encrypted_regex'],
  ['unencryptedRegex', 'unencrypted_regex'],
  ['encryptedSuffix', 'encrypted_suffix'],
  ['unencryptedSuffix', 'unencrypted_suffix'],
  ['encryptedCommentRegex', 'encrypted_comment_regex'],
  ['unencryptedCommentRegex', 'unencrypted_comment_regex'],
];

function selectionRuleFromOptions(options: RecipientOptions): SelectionRule | undefined {
  const entries: Partial<Record<SelectionRuleKind, unknown>> = {};
  for (const [option, kind] of RULE_OPTIONS) entries[kind] = options[option];
  try {
    return selectionRuleFrom(entries, 'command line');
  } catch (error) {
    if (error instanceof CofferError) throw new CofferError('USAGE', error.message.replace('command line: ', ''), { hints: error.hints });
    throw error;
  }
}

function thresholdOption(options: RecipientOptions): number | undefined {
  if (options.shamirSecretSharingThreshold === undefined) return undefined;
  const threshold = Number(options.shamirSecretSharingThreshold);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > 255) {
    throw new CofferError('USAGE', '--shamir-secret-sharing-threshold must be a whole number from 1 to 255');
  }
  return threshold;
}

/**
 * Recipients, rule and MAC mode for a new file, with SOPS's precedence: flags, env, then the
 * policy (coffer.yaml's environment when it exists, else .sops.yaml's creation rule).
 */
export async function resolveEncryptionSettings(
  context: CliContext,
  file: string,
  options: RecipientOptions & KeyOptions,
  policy?: Policy,
): Promise<EncryptOptions> {
  const applied = policy ?? (await loadCommandPolicy(context, options));
  const { resolvePolicyRecipients } = await import('../policy/policy-file.js');
  const target = options.filenameOverride ?? (file === '-' ? 'stdin' : file);
  const resolved = resolvePolicyRecipients(applied, {
    flags: { ...(options.age ? { age: options.age } : {}), ...(options.pgp ? { pgp: options.pgp } : {}) },
    env: context.env,
    filePath: absolutePath(context, target),
    cwd: context.cwd,
  });
  const selectionRule = selectionRuleFromOptions(options) ?? resolved.selectionRule;
  const threshold = thresholdOption(options) ?? resolved.shamirThreshold;
  const plan: RecipientPlan = { groups: resolved.groups, ...(threshold !== undefined ? { shamirThreshold: threshold } : {}) };
  return {
    plan,
    ...(selectionRule ? { selectionRule } : {}),
    macOnlyEncrypted: options.macOnlyEncrypted ?? resolved.macOnlyEncrypted ?? false,
  };
}

/** The recipients `updatekeys` brings a file to: flags, else its creation rule. */
export async function resolveRecipientPlan(context: CliContext, file: string, options: RecipientOptions & KeyOptions, policy?: Policy): Promise<RecipientPlan> {
  return (await resolveEncryptionSettings(context, file, options, policy)).plan;
}

/** Open options of the commands that only read values (decrypt, get, exec, exec-file). */
export function readOnlyOpenOptions(context: CliContext, options: KeyOptions): OpenOptions {
  return { readOnly: true, ignoreMac: options.ignoreMac ?? false, onIgnoredMacFailure: (error) => macWarning(context, error) };
}

/** The loud warning for --ignore-mac: the values may have been changed by someone without the key. */
function macWarning(context: CliContext, error: CofferError): void {
  context.stderr.write(
    `coffer: WARNING: ${error.message}\ncoffer: WARNING: --ignore-mac was given, so the values are shown anyway; they may have been tampered with\n`,
  );
}
