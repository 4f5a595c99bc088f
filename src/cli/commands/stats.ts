// `coffer stats`: how many secrets files, values and recipients there are, and how old the values
// and data keys are (ages from git history when there is one). Reads metadata only: no key needed.
import { readFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import type { Command } from 'commander';
import { blameFile } from '../../audit/blame.js';
import { listRecipients, recipientPlanOf } from '../../file/key-ring.js';
import { parseMetadata } from '../../format/metadata.js';
import { detectStore, getStore } from '../../format/stores/index.js';
import { indexRecipientKeys } from '../../policy/coffer-config.js';
import { listEncryptedFiles, nameKey, takeInventory } from '../../policy/inventory.js';
import { findRepositoryRoot } from '../../verify/sources.js';
import { type CliContext, writeJson } from '../context.js';
import { loadHistoryScope } from '../git-history.js';
import { loadCommandPolicy } from '../key-setup.js';
import { addIdentityOptions, addOutputOptions, type KeyOptions } from '../options.js';

interface FileStats {
  path: string;
  store: string;
  values: number;
  encrypted: number;
  recipients: string[];
  /** Days since `lastmodified` (the last write of the file). */
  lastModifiedDays: number;
  /** From git history: the age of the oldest value, and which key path. */
  oldestValue?: { keyPath: string; days: number };
}

const DAY = 24 * 60 * 60 * 1000;

/** Encrypted files: those coffer.yaml's inventory lists, else every encrypted file under .sops.yaml's (or the working) directory. */
async function findFiles(context: CliContext, options: KeyOptions): Promise<{ dir: string; paths: string[]; names: Map<string, string> }> {
  const policy = await loadCommandPolicy(context, options);
  if (policy?.kind === 'coffer') {
    const inventory = await takeInventory(policy.config);
    return { dir: policy.config.dir, paths: inventory.files.filter((file) => file.current).map((file) => file.path), names: indexRecipientKeys(policy.config) };
  }
  const dir = policy ? dirname(policy.config.path) : context.cwd;
  return { dir, paths: await listEncryptedFiles(dir), names: new Map() };
}

async function readFileStats(dir: string, path: string, names: Map<string, string>, now: number): Promise<FileStats | undefined> {
  const text = await readFile(`${dir}${sep}${path}`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const document = getStore(detectStore(path)).parse(text, path);
    const metadata = parseMetadata(document.readMetadata(), path);
    let values = 0;
    let encrypted = 0;
    document.mapLeaves((leaf) => {
      if (leaf.isComment) return undefined;
      values++;
      if (typeof leaf.value === 'string' && leaf.value.startsWith('ENC[')) encrypted++;
      return undefined;
    });
    const modified = Date.parse(metadata.lastModified);
    return {
      path,
      store: document.store,
      values,
      encrypted,
      recipients: listRecipients(recipientPlanOf(metadata)).map((key) => nameKey(names, key)),
      lastModifiedDays: Number.isNaN(modified) ? -1 : Math.floor((now - modified) / DAY),
    };
  } catch {
    return undefined;
  }
}

export function registerStatsCommand(program: Command, context: CliContext): void {
  const command = program
    .command('stats')
    .description('count secrets files, values and recipients; show how old values and data keys are')
    .option('--no-history', 'skip git history (no value ages)');
  addIdentityOptions(command);
  addOutputOptions(command);
  command
    .addHelpText('after', '\nReads only the metadata and the git history: no key is needed.\n\nExamples:\n  coffer stats\n  coffer stats --json | jq .totals')
    .action(async (options: KeyOptions & { history?: boolean }) => {
      const now = Date.now();
      const { dir, paths, names } = await findFiles(context, options);
      const files = (await Promise.all(paths.map((path) => readFileStats(dir, path, names, now)))).filter((file): file is FileStats => file !== undefined);
      let historyNote: string | undefined;
      const root = findRepositoryRoot(dir);
      if (options.history !== false && root && files.length > 0) {
        try {
          const scope = await loadHistoryScope({ ...context, cwd: dir }, { decrypt: false, ...(options.config ? { config: options.config } : {}) }, 'stats');
          for (const file of files) {
            const blame = await blameFile(scope.history, relative(root, `${dir}${sep}${file.path}`).split(sep).join('/'), new Date(now));
            const oldest = blame?.reduce((a, b) => (b.ageDays > a.ageDays ? b : a));
            if (oldest) file.oldestValue = { keyPath: oldest.keyPath, days: oldest.ageDays };
          }
        } catch (error) {
          historyNote = `no value ages: ${(error as Error).message}`;
        }
      } else if (!root) historyNote = 'no value ages: not a git repository';
      const recipients = new Set(files.flatMap((file) => file.recipients));
      const oldest = files.filter((file) => file.oldestValue).sort((a, b) => (b.oldestValue?.days ?? 0) - (a.oldestValue?.days ?? 0))[0];
      const stalest = [...files].sort((a, b) => b.lastModifiedDays - a.lastModifiedDays)[0];
      const totals = {
        files: files.length,
        values: files.reduce((sum, file) => sum + file.values, 0),
        encrypted: files.reduce((sum, file) => sum + file.encrypted, 0),
        recipients: recipients.size,
        ...(oldest?.oldestValue ? { oldestValue: { file: oldest.path, ...oldest.oldestValue } } : {}),
        ...(stalest ? { longestUnwritten: { file: stalest.path, days: stalest.lastModifiedDays } } : {}),
      };
      if (options.json) {
        writeJson(context, { totals, files, ...(historyNote ? { note: historyNote } : {}) });
        return;
      }
      const out = (line: string) => context.stdout.write(`${line}\n`);
      out(`files       ${totals.files} encrypted`);
      out(`values      ${totals.values} (${totals.encrypted} encrypted)`);
      out(`recipients  ${totals.recipients}${recipients.size ? ` (${[...recipients].sort().slice(0, 8).join(', ')}${recipients.size > 8 ? ', …' : ''})` : ''}`);
      if (totals.oldestValue) out(`oldest      ${totals.oldestValue.days} days: ${totals.oldestValue.file} ${totals.oldestValue.keyPath}`);
      if (totals.longestUnwritten) out(`unwritten   ${totals.longestUnwritten.days} days: ${totals.longestUnwritten.file} (lastmodified)`);
      if (!options.quiet && files.length > 0) {
        out('');
        for (const file of files) {
          const age = file.oldestValue ? `, oldest value ${file.oldestValue.days}d` : '';
          out(`  ${file.path}: ${file.values} values, ${file.recipients.length} recipients, written ${file.lastModifiedDays}d ago${age}`);
        }
      }
      if (historyNote && !options.quiet) context.stderr.write(`coffer: ${historyNote}\n`);
    });
}
