// The coffer GitHub Action: inputs -> library -> masks -> outputs, in one process per step.
// Modes: decrypt (default) exports selected values of secrets files; verify checks a pull
// request's changed secrets files and annotates problems; rotate runs `coffer rotate --due`.
// The same bundle is the post step (the runner sets STATE_isPost), which removes what decrypt
// wrote. This file is the only one that fails the step.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CofferError, isCofferError } from '../../src/errors.js';
import type { KeyRing } from '../../src/file/key-ring.js';
import { findPolicyFile } from '../../src/policy/policy-file.js';
import { VERSION } from '../../src/version.js';
import { baseOfEvent, changedFiles, firstChangedLines, pathsToVerify, repositoryPath, repositoryRoot } from './changes.js';
import { decryptLeaves } from './decrypt.js';
import { type ExportTarget, parseExportTargets, renderDotenvFile, renderJsonFile } from './export.js';
import { expandFiles, splitList } from './files.js';
import { createIdentityKeyRing, describeIdentity, identityEnvironment } from './identity.js';
import { masksOf } from './masks.js';
import { isPrivateDir, removeGnupgHome, removePrivateDir } from './post.js';
import {
  addMask,
  annotate,
  appendSummary,
  exportVariable,
  formatCommand,
  processRunner,
  readBooleanInput,
  readInput,
  readState,
  type Runner,
  saveState,
  setOutput,
} from './runner.js';
import { type ExportedValue, type Leaf, parseSelectors, selectValues } from './selection.js';

function workingDirectory(runner: Runner): string {
  const base = runner.env['GITHUB_WORKSPACE'] || process.cwd();
  return resolve(base, readInput(runner, 'working-directory') || '.');
}

/** The identity is masked before it is used at all: whole, and line by line (age key files, PGP armor). */
function maskIdentity(runner: Runner, identity: string): void {
  // armor and comment lines (`# public key: age1...`) are public; masking them would only blank the log
  for (const mask of masksOf(identity)) if (mask === identity || !/^(?:-----|#)/.test(mask)) addMask(runner, mask);
}

/** The 0700 directory for files holding values; its path is saved first so the post step always finds it. */
async function createPrivateDir(runner: Runner): Promise<string> {
  const temp = runner.env['RUNNER_TEMP'];
  if (!temp) throw new CofferError('USAGE', 'RUNNER_TEMP is not set: the coffer Action runs inside a GitHub Actions job');
  const dir = await mkdtemp(join(temp, 'coffer-'));
  saveState(runner, 'private_dir', dir);
  return dir;
}

function reportMissing(runner: Runner, what: string, missing: readonly string[], fail: boolean): void {
  if (missing.length === 0) return;
  const message = `${what} matched nothing: ${missing.map((item) => item.slice(0, 80)).join(', ')}`;
  if (fail) throw new CofferError('KEY_NOT_FOUND', message, { hints: ['fix the input, or set fail-on-missing: false to only warn'] });
  annotate(runner, { level: 'warning', message, title: 'coffer' });
}

async function runDecrypt(runner: Runner): Promise<void> {
  const identity = readInput(runner, 'identity');
  maskIdentity(runner, identity);
  const cwd = workingDirectory(runner);
  const patterns = splitList(readInput(runner, 'files'));
  if (patterns.length === 0) throw new CofferError('USAGE', 'the files input is empty', { hints: ['name the secrets files to decrypt, e.g. files: secrets/prod.yaml'] });
  const selectors = parseSelectors(readInput(runner, 'keys'));
  const targets = parseExportTargets(readInput(runner, 'export-to'));
  const prefix = readInput(runner, 'prefix');
  const failOnMissing = readBooleanInput(runner, 'fail-on-missing', true);

  const expanded = await expandFiles(patterns, cwd);
  reportMissing(runner, 'files', expanded.unmatched, failOnMissing);
  const privateDir = await createPrivateDir(runner);
  let keys: KeyRing;
  let leaves: Leaf[];
  try {
    keys = await createIdentityKeyRing(identity, runner.env, privateDir);
    leaves = await decryptLeaves(expanded.files, cwd, keys, describeIdentity(identity));
  } finally {
    // the imported PGP keyring is needed no longer than the decryption
    await removeGnupgHome(privateDir).catch(() => undefined);
  }

  // Nothing reaches the log or a file before every value is masked: first every value the files keep
  // encrypted (but `true`, `false` and null), then whatever else is exported (values left in clear).
  const masked = new Set<string>();
  const mask = (value: string) => {
    for (const text of masksOf(value)) {
      if (!masked.has(text)) addMask(runner, text);
      masked.add(text);
    }
  };
  for (const leaf of leaves) if (leaf.encrypted && !leaf.trivial) mask(leaf.value);
  const selection = selectValues(leaves, selectors, prefix);
  for (const item of selection.values) mask(item.value);
  reportMissing(runner, 'keys', selection.unmatched, failOnMissing);

  await exportValues(runner, targets, selection.values, privateDir);
  setOutput(runner, 'exported', selection.values.map((item) => item.name).join(','));
  const rows = selection.values.map((item) => `| \`${item.name}\` | \`${item.file}\` | \`${item.keyPath}\` |`);
  appendSummary(
    runner,
    `### coffer: ${selection.values.length} value${selection.values.length === 1 ? '' : 's'} exported to ${targets.join(', ')}\n\n| name | file | key path |\n|---|---|---|\n${rows.join('\n')}\n`,
  );
}

async function exportValues(runner: Runner, targets: readonly ExportTarget[], values: readonly ExportedValue[], privateDir: string): Promise<void> {
  // Render everything first: a value a target cannot hold fails the step before anything is written.
  const dotenv = targets.includes('dotenv-file') ? renderDotenvFile(values) : undefined;
  const json = targets.includes('json-file') ? renderJsonFile(values) : undefined;
  if (dotenv !== undefined) {
    const path = join(privateDir, 'secrets.env');
    await writeFile(path, dotenv, { mode: 0o600, flag: 'wx' });
    setOutput(runner, 'dotenv-file', path);
  }
  if (json !== undefined) {
    const path = join(privateDir, 'secrets.json');
    await writeFile(path, json, { mode: 0o600, flag: 'wx' });
    setOutput(runner, 'json-file', path);
  }
  for (const item of values) {
    if (targets.includes('outputs')) setOutput(runner, item.name, item.value);
    if (targets.includes('env')) exportVariable(runner, item.name, item.value);
  }
}

/** Returns the failure message when the check found errors. */
async function runVerify(runner: Runner): Promise<string | undefined> {
  const identity = readInput(runner, 'identity');
  maskIdentity(runner, identity);
  const cwd = workingDirectory(runner);
  const found = await findPolicyFile(cwd, { env: runner.env });
  if (!found) throw new CofferError('CONFIG_NOT_FOUND', `no coffer.yaml or .sops.yaml in ${cwd} or above`, { hints: ['set working-directory to the directory of the policy file'] });
  const root = await repositoryRoot(cwd);
  const base = readInput(runner, 'base') || (await baseOfEvent(runner.env['GITHUB_EVENT_PATH']));
  let paths: string[] | undefined;
  let firstLines = new Map<string, number>();
  if (base) {
    paths = pathsToVerify(root, found.path, await changedFiles(root, base));
    firstLines = await firstChangedLines(root, base);
    if (paths?.length === 0) {
      runner.write(`coffer: no file under ${repositoryPath(root, root, dirname(found.path)) || '.'} changed since ${base.slice(0, 12)}`);
      setOutput(runner, 'problems', '0');
      appendSummary(runner, '### coffer verify: no secrets files changed\n');
      return undefined;
    }
  }
  let keys: KeyRing | undefined;
  let privateDir: string | undefined;
  if (identity) {
    privateDir = await createPrivateDir(runner);
    keys = await createIdentityKeyRing(identity, runner.env, privateDir);
  }
  const { verifyRepository } = await import('../../src/verify/verify.js');
  const { toSarif } = await import('../../src/verify/render.js');
  let report: Awaited<ReturnType<typeof verifyRepository>>;
  try {
    report = await verifyRepository({ cwd, env: runner.env, ...(paths ? { paths } : {}), ...(keys ? { keys } : {}) });
  } finally {
    if (privateDir) await removePrivateDir(privateDir).catch(() => undefined);
  }
  const policyDir = dirname(found.path);
  // A problem without a line of its own goes on the first line the pull request changed in its file.
  const located = report.problems.map((item) => {
    const file = repositoryPath(root, policyDir, item.file);
    const line = item.line ?? firstLines.get(file);
    return { ...item, file, ...(line !== undefined ? { line } : {}) };
  });
  for (const item of located) {
    annotate(runner, {
      level: item.severity === 'note' ? 'notice' : item.severity,
      title: `coffer: ${item.rule}`,
      file: item.file,
      ...(item.line !== undefined ? { line: item.line } : {}),
      message: `${item.keyPath ? `${item.keyPath}: ` : ''}${item.message}${item.hint ? ` (hint: ${item.hint})` : ''}`,
    });
  }
  const sarifInput = readInput(runner, 'sarif-file');
  if (sarifInput) {
    // Locations relative to the repository root, as code scanning resolves them against the checkout.
    const sarif = toSarif({ ...report, problems: located }, VERSION) as { runs: { originalUriBaseIds?: unknown; results: { locations: { physicalLocation: { artifactLocation: Record<string, unknown> } }[] }[] }[] };
    for (const run of sarif.runs) {
      delete run.originalUriBaseIds;
      for (const result of run.results) for (const location of result.locations) delete location.physicalLocation.artifactLocation['uriBaseId'];
    }
    const sarifPath = resolve(runner.env['GITHUB_WORKSPACE'] || process.cwd(), sarifInput);
    await writeFile(sarifPath, `${JSON.stringify(sarif, null, 2)}\n`);
    setOutput(runner, 'sarif-file', sarifPath);
  }
  const errors = located.filter((item) => item.severity === 'error');
  const warnings = located.filter((item) => item.severity === 'warning').length;
  setOutput(runner, 'problems', String(errors.length));
  const rows = located.map((item) => `| ${item.severity} | \`${item.file}${item.line ? `:${item.line}` : ''}\` | ${item.rule} | ${item.message.replaceAll('|', '\\|')} |`);
  appendSummary(
    runner,
    `### coffer verify: ${errors.length} error${errors.length === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in ${report.files} file${report.files === 1 ? '' : 's'}${report.keyless ? ' (keyless)' : ''}\n\n` +
      (rows.length ? `| severity | where | rule | problem |\n|---|---|---|---|\n${rows.join('\n')}\n` : ''),
  );
  if (errors.length === 0) return undefined;
  const files = new Set(errors.map((item) => item.file)).size;
  return `coffer verify found ${errors.length} error${errors.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}`;
}

async function runRotate(runner: Runner): Promise<void> {
  const identity = readInput(runner, 'identity');
  maskIdentity(runner, identity);
  const token = readInput(runner, 'token');
  // in every rendering, like the identity: the token travels base64-encoded in git's basic auth header
  for (const mask of masksOf(token)) addMask(runner, mask);
  const dryRun = readBooleanInput(runner, 'dry-run', false);
  const window = readInput(runner, 'window') || '14d';
  const privateDir = await createPrivateDir(runner);
  try {
    const env = await identityEnvironment(identity, runner.env, privateDir);
    // git, GitHub and the credential generators: loaded only in rotate mode
    const { runRotation } = await import('./rotate.js');
    const result = await runRotation(runner, { cwd: workingDirectory(runner), token, env, dryRun, window });
    const opened = result.pullRequests.filter((item) => item.url);
    for (const item of result.pullRequests) {
      runner.write(`coffer: ${item.environment}: ${item.branch}${item.url ? ` -> ${item.url} (${item.action ?? 'updated'})` : result.dryRun ? ' (dry run)' : ''}`);
    }
    setOutput(runner, 'pull-requests', JSON.stringify(opened.map((item) => item.url)));
    const rows = result.pullRequests.map((item) => `| ${item.environment} | \`${item.branch}\` | ${item.generated} | ${item.url ? `[${item.action ?? 'pull request'}](${item.url})` : '-'} |`);
    appendSummary(
      runner,
      rows.length === 0
        ? '### coffer rotate: nothing is due\n'
        : `### coffer rotate${result.dryRun ? ' (dry run)' : ''}: ${rows.length} environment${rows.length === 1 ? '' : 's'}\n\n| environment | branch | generated | pull request |\n|---|---|---|---|\n${rows.join('\n')}\n`,
    );
  } finally {
    await removePrivateDir(privateDir).catch(() => undefined);
  }
}

async function runPost(runner: Runner): Promise<void> {
  const dir = readState(runner, 'private_dir');
  if (dir && isPrivateDir(dir, runner.env['RUNNER_TEMP'])) await removePrivateDir(dir);
}

/** Fails the step: an error annotation and exit status 1 (the runner's ::error:: plus a non-zero exit). */
function setFailed(runner: Runner, message: string, hints: readonly string[] = []): void {
  process.exitCode = 1;
  runner.write(formatCommand('error', { title: 'coffer' }, message));
  for (const hint of hints) runner.write(`  hint: ${hint}`);
}

export async function run(runner: Runner = processRunner()): Promise<void> {
  try {
    if (readState(runner, 'isPost') === 'true') {
      await runPost(runner);
      return;
    }
    saveState(runner, 'isPost', 'true');
    const mode = readInput(runner, 'mode') || 'decrypt';
    if (mode === 'decrypt') await runDecrypt(runner);
    else if (mode === 'verify') {
      const failure = await runVerify(runner);
      if (failure) setFailed(runner, failure, ['the annotations and the job summary list every problem; `coffer verify` shows the same locally']);
    } else if (mode === 'rotate') {
      await runRotate(runner);
    } else throw new CofferError('USAGE', `mode must be decrypt, verify or rotate, not "${mode.slice(0, 20)}"`);
  } catch (error) {
    if (isCofferError(error)) setFailed(runner, error.message, error.hints);
    else if (error instanceof TypeError && /^input /.test(error.message)) setFailed(runner, error.message);
    else setFailed(runner, `unexpected error (this is a bug in coffer, please report it): ${(error as Error)?.message ?? String(error)}`);
  }
}

await run();
