// `coffer init`: the first hour in one command. Creates the user's age key when they have none,
// writes a commented starter coffer.yaml (or one imported from .sops.yaml), registers the git
// drivers and installs the pre-commit hook. Asks a few questions on a terminal; flags otherwise.
import { access, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { withFileLock } from '../../io/lock.js';
import { parseAgeRecipient } from '../../keys/age.js';
import { defaultAgeKeyFile, discoverAgeIdentities, nodeKeySources } from '../../keys/identities.js';
import { normalizeFingerprint } from '../../keys/pgp.js';
import { COFFER_CONFIG_NAME, parseCofferConfig } from '../../policy/coffer-config.js';
import { findSopsConfig, parseSopsConfig, type SopsConfig } from '../../policy/sops-config.js';
import { findRepositoryRoot } from '../../verify/sources.js';
import { type CliContext, note } from '../context.js';
import { collect } from '../options.js';
import { askWithDefault, askYesNo } from '../prompt.js';

interface InitOptions {
  recipient?: string[];
  environment?: string[];
  fromSops?: string | boolean;
  output?: string;
  force?: boolean;
  quiet?: boolean;
  /** `--no-git-setup`: false. */
  gitSetup?: boolean;
  /** `--no-keygen`: false. */
  keygen?: boolean;
  /** `--no-hook`: false. */
  hook?: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const quote = (text: string) => JSON.stringify(text);
const flowList = (items: readonly string[]) => `[${items.map((item) => (NAME.test(item) ? item : quote(item))).join(', ')}]`;

interface StarterRecipient {
  name: string;
  age: string[];
  pgp: string[];
}

const HEADER = `# yaml-language-server: $schema=./node_modules/coffer/schemas/coffer.schema.json
# coffer.yaml: who may read which secrets files. Review changes to it like code.
#   coffer access            who can read which file today, and where files drift from this policy
#   coffer explain FILE      which environment applies to a file, and why
#   coffer updatekeys --all  re-wrap every file for the readers below (same data key)
#   coffer revoke NAME       offboard someone: new data keys for what they could read
version: 1
`;

function parseNamedKeys(values: readonly string[]): StarterRecipient[] {
  return values.map((value) => {
    const split = value.indexOf('=');
    const name = value.slice(0, Math.max(split, 0)).trim();
    if (split <= 0 || !NAME.test(name)) {
      throw new CofferError('USAGE', '--recipient takes NAME=KEY[,KEY...] (a name of letters, digits, ".", "_", "-")', {
        hints: ['coffer init --recipient alice=age1... --recipient ci=age1...'],
      });
    }
    const recipient: StarterRecipient = { name, age: [], pgp: [] };
    value
      .slice(split + 1)
      .split(',')
      .map((key) => key.trim())
      .filter(Boolean)
      .forEach((key, index) => {
        const fingerprint = normalizeFingerprint(key).toUpperCase();
        if (/^[0-9A-F]{40}$/.test(fingerprint)) recipient.pgp.push(fingerprint);
        else recipient.age.push(parseAgeRecipient(key, index + 1).recipient);
      });
    if (recipient.age.length + recipient.pgp.length === 0) throw new CofferError('USAGE', `--recipient ${name}= has no key`);
    return recipient;
  });
}

function recipientLine(recipient: StarterRecipient): string {
  const fields = [
    ...(recipient.age.length ? [`age: ${recipient.age.length === 1 ? recipient.age[0] : flowList(recipient.age)}`] : []),
    ...(recipient.pgp.length ? [`pgp: ${flowList(recipient.pgp)}`] : []),
  ];
  return `  ${recipient.name}: { ${fields.join(', ')} }`;
}

function starterText(recipients: StarterRecipient[], environments: { name: string; globs: string[] }[]): string {
  const names = recipients.map((recipient) => recipient.name);
  return `${HEADER}
# People and machines: age public keys (age1...) and/or PGP fingerprints; email and github are optional.
recipients:
${recipients.map(recipientLine).join('\n')}
  # bob: { age: [age1...], pgp: [40-HEX-FINGERPRINT], email: bob@example.com, github: bob }

# Named lists of recipients and other groups (a group may include groups, never itself).
groups:
  team: ${flowList(names)}

# Environments map file globs (relative to this file: **, *, ?, {a,b}) to who may read them.
# A file belongs to exactly one environment. Selection rules (at most one): encrypted_regex,
# unencrypted_regex, encrypted_suffix, unencrypted_suffix, encrypted_comment_regex,
# unencrypted_comment_regex; and mac_only_encrypted.
environments:
${environments
  .map(
    (environment) => `  ${environment.name}:
    files: ${flowList(environment.globs)}
    readers: [team]`,
  )
  .join('\n')}
  # prod:
  #   files: ["secrets/prod/**"]
  #   key_groups: [[operators], [ci-deploy]]   # Shamir: the data key is split between the groups
  #   shamir_threshold: 2                      # keys from 2 groups are needed to decrypt
  #   encrypted_regex: "^(password|token|.*_key)$"
`;
}

/** coffer.yaml text equivalent to a .sops.yaml: one environment per creation rule. */
function importedText(sops: SopsConfig, named: StarterRecipient[]): string {
  const nameOf = new Map<string, string>();
  for (const recipient of named) for (const key of [...recipient.age, ...recipient.pgp]) nameOf.set(key, recipient.name);
  const recipients = new Map<string, StarterRecipient>(named.map((recipient) => [recipient.name, recipient]));
  const nameKey = (key: string, kind: 'age' | 'pgp') => {
    const normal = kind === 'pgp' ? normalizeFingerprint(key).toUpperCase() : key;
    let name = nameOf.get(normal);
    if (!name) {
      name = `${kind}-${[...recipients.keys()].filter((existing) => existing.startsWith(`${kind}-`)).length + 1}`;
      nameOf.set(normal, name);
      recipients.set(name, { name, age: kind === 'age' ? [normal] : [], pgp: kind === 'pgp' ? [normal] : [] });
    }
    return name;
  };
  const used = new Set<string>();
  const environments = sops.creationRules.map((rule, index) => {
    const guess = /\b(dev|development|staging|stage|prod|production|test|testing|qa)\b/.exec(rule.pathRegex ?? '')?.[1];
    const name = guess && !used.has(guess) ? guess : `rule-${index + 1}`;
    used.add(name);
    const groups = rule.groups.map((group) => [...new Set([...group.age.map((key) => nameKey(key, 'age')), ...group.pgp.map((key) => nameKey(key, 'pgp'))])]);
    const lines = [`  ${name}:`, `    # .sops.yaml line ${rule.line}${rule.pathRegex === undefined ? ' (no path_regex: SOPS applied it to every file no earlier rule matched)' : ''}`];
    lines.push(`    path_regex: ${quote(rule.pathRegex ?? '.*')}`);
    if (groups.length > 1) {
      lines.push(`    key_groups: [${groups.map(flowList).join(', ')}]`);
      if (rule.shamirThreshold) lines.push(`    shamir_threshold: ${rule.shamirThreshold}`);
    } else lines.push(`    readers: ${flowList(groups[0] ?? [])}`);
    if (rule.selectionRule) lines.push(`    ${rule.selectionRule.kind}: ${quote(rule.selectionRule.pattern)}`);
    if (rule.macOnlyEncrypted !== undefined) lines.push(`    mac_only_encrypted: ${rule.macOnlyEncrypted}`);
    if (rule.unsupportedSources.length) lines.push(`    # not imported (coffer cannot use them): ${rule.unsupportedSources.join(', ')}`);
    // a rule with no age or PGP key would be an environment nobody can read: left for a person to decide
    if (groups.length === 0 || groups.some((group) => group.length === 0)) return lines.map((line) => `  # ${line.trimStart()}`).join('\n');
    return lines.join('\n');
  });
  return `${HEADER}
# Imported from ${sops.path}. Rename the recipients (age-1, pgp-1...) to the people they belong to.
# SOPS used the first rule that matched; in coffer.yaml a file must match exactly one environment,
# so \`coffer access\` reports any file two of these patterns claim: narrow them then.
recipients:
${[...recipients.values()].map(recipientLine).join('\n')}

groups: {}

environments:
${environments.join('\n')}
`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function keySources(context: CliContext) {
  const sources = nodeKeySources();
  return { ...sources, env: context.env, homedir: context.env['HOME'] ?? sources.homedir };
}

/** The public key of the user's own age identity, when there is an obvious one. */
async function ownAgeKey(context: CliContext): Promise<string | undefined> {
  try {
    const { identities } = await discoverAgeIdentities(keySources(context));
    // an age key only: ~/.ssh keys are found too, but making one a recipient is the user's choice (--recipient)
    return identities.find((identity) => identity.kind === 'x25519')?.recipient;
  } catch {
    return undefined;
  }
}

function userName(context: CliContext): string {
  const user = (context.env['USER'] ?? 'me').toLowerCase().replace(/[^a-z0-9._-]/g, '') || 'me';
  return NAME.test(user) ? user : 'me';
}

/** `coffer keygen -o` at the default key file (where sops and coffer look without configuration). */
async function createDefaultKey(context: CliContext, quiet: boolean | undefined): Promise<string> {
  const path = defaultAgeKeyFile(keySources(context));
  if (!path) {
    throw new CofferError('USAGE', 'no default key file location (no home or config directory): create a key first', {
      hints: ['coffer keygen -o key.txt, then SOPS_AGE_KEY_FILE=key.txt coffer init', 'or coffer init --no-keygen --recipient alice=age1...'],
    });
  }
  const { generateKeyFileText, writeNewKeyFile } = await import('./keys.js');
  const { content, recipient } = await generateKeyFileText();
  await writeNewKeyFile(path, path, content);
  note(context, quiet, `created your age key ${path} (public key ${recipient}); back it up: without it you cannot decrypt`);
  return recipient;
}

/** The pre-commit hook; an existing hook coffer did not write is left alone, with a note. */
async function installHook(context: CliContext, quiet: boolean | undefined): Promise<void> {
  const { installPreCommitHook } = await import('./hook.js');
  try {
    const path = await installPreCommitHook(context);
    note(context, quiet, `installed ${path}: every commit now runs \`coffer verify --staged\``);
  } catch (error) {
    if (!(error instanceof CofferError && error.code === 'USAGE')) throw error;
    note(context, quiet, `note: ${error.message}: add \`coffer verify --staged\` to it, or run \`coffer hook install --force\``);
  }
}

function parseEnvironments(values: readonly string[]): { name: string; globs: string[] }[] {
  return values.map((value) => {
    const split = value.indexOf('=');
    const name = value.slice(0, Math.max(split, 0)).trim();
    const globs = value.slice(split + 1).split(',').map((glob) => glob.trim()).filter(Boolean);
    if (split <= 0 || !NAME.test(name) || globs.length === 0) {
      throw new CofferError('USAGE', '--environment takes NAME=GLOB[,GLOB...]', { hints: ['coffer init --environment "dev=secrets/dev/**"'] });
    }
    return { name, globs };
  });
}

/** `coffer git-setup` for the new coffer.yaml; outside a git repository, a note on how to do it later. */
async function registerGitDrivers(context: CliContext, config: string, quiet: boolean | undefined): Promise<void> {
  const { setupGitDrivers } = await import('./git-drivers.js');
  try {
    note(context, quiet, (await setupGitDrivers(context, { command: 'coffer', config })).trimEnd());
  } catch (error) {
    if (!(error instanceof CofferError && error.code === 'USAGE' && error.message.includes('not inside a git repository'))) throw error;
    note(context, quiet, 'note: not a git repository: after `git init`, run `coffer git-setup` to register the diff and merge drivers');
  }
}

export function registerInitCommand(program: Command, context: CliContext): void {
  program
    .command('init')
    .description('write a commented starter coffer.yaml (or import .sops.yaml with --from-sops)')
    .option('--recipient <name=key>', 'a recipient and their age keys / PGP fingerprints, comma-separated (repeatable; default: your own age key as $USER)', collect)
    .option('--environment <name=globs>', 'an environment and its file globs, comma-separated (repeatable; default dev=secrets/dev/**)', collect)
    .option('--from-sops [file]', 'import the creation rules of .sops.yaml (default: the one found from here upward)')
    .option('-o, --output <file>', 'where to write (default: coffer.yaml here; - for stdout)')
    .option('--force', 'overwrite an existing coffer.yaml')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--no-git-setup', 'do not register the coffer diff and merge drivers (.gitattributes, .git/config)')
    .option('--no-keygen', 'do not create an age key at the default key file when you have none')
    .option('--no-hook', 'do not install the git pre-commit hook that runs `coffer verify --staged`')
    .addHelpText(
      'after',
      `
On a terminal (not under CI), init asks for your recipient name, the files of the first
environment and whether to install the hook; flags answer instead, and nothing is asked otherwise.
Without an age identity in the usual places (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, the default key
file), init creates one at ~/.config/sops/age/keys.txt (0600) and names its public key.

Examples:
  coffer init
  coffer init --recipient alice=age1... --recipient ci=age1... --environment dev=secrets/dev/** --environment prod=secrets/prod/**
  coffer init --from-sops`,
    )
    .action(async (options: InitOptions) => {
      const named = parseNamedKeys(options.recipient ?? []);
      const output = options.output === '-' ? undefined : resolve(context.cwd, options.output ?? COFFER_CONFIG_NAME);
      const interactive = Boolean(context.stdin.isTTY && context.stderr.isTTY) && context.env['CI'] === undefined && !options.quiet;
      const givenEnvironments = parseEnvironments(options.environment ?? []);
      // before any key is created: an init that cannot write must change nothing
      if (output && !options.force && (await exists(output))) {
        throw new CofferError('USAGE', `${output} already exists`, { hints: ['pass --force to overwrite it, or -o - to print the starter instead'] });
      }
      let text: string;
      if (options.fromSops) {
        const path =
          typeof options.fromSops === 'string'
            ? resolve(context.cwd, options.fromSops)
            : await findSopsConfig(context.cwd, { env: context.env });
        if (!path || !(await exists(path))) {
          throw new CofferError('CONFIG_NOT_FOUND', `no .sops.yaml to import${path ? ` at ${path}` : ' from here upward'}`, { hints: ['pass its path: coffer init --from-sops path/.sops.yaml'] });
        }
        text = importedText(parseSopsConfig(await readFile(path, 'utf8'), path), named);
      } else {
        const recipients = [...named];
        if (recipients.length === 0) {
          let key = await ownAgeKey(context);
          if (!key && options.keygen !== false && output) key = await createDefaultKey(context, options.quiet);
          if (!key) {
            throw new CofferError('USAGE', 'no recipient for the starter coffer.yaml: pass --recipient NAME=age1..., or create your key first', {
              hints: ['coffer keygen -o ~/.config/sops/age/keys.txt', 'coffer init --recipient alice=age1...'],
            });
          }
          let name = userName(context);
          if (interactive) {
            name = await askWithDefault(context, `your name in coffer.yaml (for ${key.slice(0, 12)}...)`, name);
            if (!NAME.test(name)) throw new CofferError('USAGE', `"${name.slice(0, 40)}" is not a recipient name (letters, digits, ".", "_", "-")`);
          }
          recipients.push({ name, age: [key], pgp: [] });
        }
        let environments = givenEnvironments;
        if (environments.length === 0) {
          const globs = interactive ? await askWithDefault(context, 'files of the dev environment (comma-separated globs)', 'secrets/dev/**') : 'secrets/dev/**';
          environments = parseEnvironments([`dev=${globs}`]);
        }
        text = starterText(recipients, environments);
      }
      // what we write must be what we read back
      parseCofferConfig(text, output ?? COFFER_CONFIG_NAME, output ? dirname(output) : context.cwd);
      if (!output) {
        context.stdout.write(text);
        return;
      }
      await withFileLock(output, () => writeFileAtomic(output, text));
      note(context, options.quiet, `wrote ${output}`);
      if (await exists(join(dirname(output), '.sops.yaml'))) note(context, options.quiet, 'note: coffer.yaml now wins over .sops.yaml in this directory');
      if (options.gitSetup !== false) await registerGitDrivers(context, output, options.quiet);
      if (options.hook !== false && findRepositoryRoot(context.cwd)) {
        const wanted = interactive ? await askYesNo(context, 'install a pre-commit hook that runs `coffer verify --staged`?', true) : true;
        if (wanted) await installHook(context, options.quiet);
      }
    });
}
