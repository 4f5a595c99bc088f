// Options shared by several commands, declared once so every --help reads the same.
import { type Command, Option } from 'commander';

export interface KeyOptions {
  identity?: string[];
  config?: string;
  ignoreMac?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export interface RecipientOptions {
  age?: string[];
  pgp?: string[];
  encryptedRegex?: string;
  unencryptedRegex?: string;
  encryptedSuffix?: string;
  unencryptedSuffix?: string;
  encryptedCommentRegex?: string;
  unencryptedCommentRegex?: string;
  macOnlyEncrypted?: boolean;
  shamirSecretSharingThreshold?: string;
  filenameOverride?: string;
}

/** Commander's argument parser for a repeatable option: every value, in order. */
export const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function addIdentityOptions(command: Command): Command {
  return command
    .option('--identity <file>', 'age identity file (or unencrypted SSH private key) to try first (repeatable); then SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, the default key file and SSH keys (SOPS_AGE_SSH_PRIVATE_KEY_FILE/_CMD, ~/.ssh/id_ed25519, ~/.ssh/id_rsa)', collect)
    .option('--config <file>', 'policy file: coffer.yaml or .sops.yaml (default: COFFER_CONFIG or SOPS_CONFIG, else searched upward from the current directory)');
}

export function addMacOption(command: Command): Command {
  return command.option('--ignore-mac', 'read values even if the MAC does not match (prints a warning; never use in automation)');
}

export function addOutputOptions(command: Command): Command {
  return command.option('--json', 'machine-readable output (errors as JSON on stderr)').option('-q, --quiet', 'print nothing but results');
}

export function addTypeOptions(command: Command, output = true): Command {
  command.addOption(new Option('--input-type <store>', 'store of the input: yaml, json, dotenv, ini or binary (default: from the extension)'));
  if (output) command.addOption(new Option('--output-type <store>', 'store of the output: yaml, json, dotenv, ini or binary (default: the input store)'));
  return command;
}

export function addRecipientOptions(command: Command): Command {
  return command
    .option('--age <recipients>', 'age recipients (age1..., or an SSH public key "ssh-ed25519 AAAA..."), comma-separated (repeatable); overrides SOPS_AGE_RECIPIENTS and .sops.yaml', collect)
    .option('--pgp <fingerprints>', 'PGP fingerprints, comma-separated (repeatable)', collect)
    .option('--encrypted-regex <regex>', 'encrypt only values whose key path matches')
    .option('--unencrypted-regex <regex>', 'leave values whose key path matches in clear')
    .option('--encrypted-suffix <suffix>', 'encrypt only values under keys ending with the suffix')
    .option('--unencrypted-suffix <suffix>', 'leave values under keys ending with the suffix in clear (default _unencrypted)')
    .option('--encrypted-comment-regex <regex>', 'encrypt only values after a comment that matches')
    .option('--unencrypted-comment-regex <regex>', 'leave values after a comment that matches in clear')
    .option('--mac-only-encrypted', 'compute the MAC over encrypted values only')
    .option('--shamir-secret-sharing-threshold <n>', 'key groups needed to decrypt (with key_groups in .sops.yaml)')
    .option('--filename-override <path>', 'match .sops.yaml creation rules against this path instead');
}
