// `coffer audit --verify | --anomalies`: tamper evidence and anomalies from git history.
import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { type AnomalyOptions, findAnomalies, parseChangeWindow } from '../../audit/anomalies.js';
import type { AuditFinding } from '../../audit/findings.js';
import { type SignatureCheck, verifyHistory } from '../../audit/integrity.js';
import { createPolicyTimeline, type PolicyTimeline } from '../../audit/policy-history.js';
import { CofferError } from '../../errors.js';
import { formatTable } from '../table.js';
import { type CliContext, writeJson } from '../context.js';
import { type HistoryCommandOptions, type HistoryScope, loadHistoryScope } from '../git-history.js';
import { addGitHubOptions, type GitHubCommandOptions } from '../github-remote.js';
import { addIdentityOptions, collect } from '../options.js';
import { startProgress } from '../progress.js';
import { auditApprovals } from './audit-approvals.js';

interface AuditOptions extends HistoryCommandOptions, GitHubCommandOptions {
  approvals?: boolean;
  verify?: boolean;
  anomalies?: boolean;
  production?: string[];
  mass?: string;
  window?: string;
  json?: boolean;
  /** `--no-signatures`: false. */
  signatures?: boolean;
}

function policyTimelineOf(scope: HistoryScope): PolicyTimeline | undefined {
  if (!scope.config) return undefined;
  return createPolicyTimeline(scope.history, relative(scope.repository.dir, scope.config.path).split('\\').join('/'));
}

export async function collectAnomalies(scope: HistoryScope, options: { production?: string[]; mass?: string; window?: string }): Promise<AuditFinding[]> {
  const mass = Number(options.mass ?? '20');
  if (!Number.isInteger(mass) || mass < 1) throw new CofferError('USAGE', '--mass must be a whole number of changed values (1 or more)');
  const policy = policyTimelineOf(scope);
  const anomalyOptions: AnomalyOptions = {
    environmentOf: scope.environmentOf,
    massThreshold: mass,
    now: new Date(),
    ...(scope.config ? { config: scope.config } : {}),
    ...(policy ? { policy } : {}),
    ...(options.production?.length ? { production: options.production } : {}),
    ...(options.window ? { window: parseChangeWindow(options.window) } : {}),
  };
  return findAnomalies(scope.history, anomalyOptions);
}

/** A commit's signature checked by `git verify-commit` (gpg, or ssh-keygen with gpg.ssh.allowedSignersFile), with the user's keyring. */
function gitSignatureVerifier(context: CliContext, dir: string): (commit: { oid: string }) => Promise<SignatureCheck> {
  return (commit) =>
    new Promise((resolve) => {
      execFile('git', ['verify-commit', '--raw', commit.oid], { cwd: dir, env: { ...context.env }, encoding: 'utf8' }, (error, _stdout, stderr) => {
        if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') return resolve({ status: 'unverifiable', reason: 'git is not installed' });
        const status = String(stderr).split('\n').filter((line) => line.startsWith('[GNUPG:] '));
        const valid = status.find((line) => line.startsWith('[GNUPG:] VALIDSIG '))?.split(' ');
        if (!error && valid) return resolve({ status: 'good', fingerprints: [...new Set([valid[2]!, valid.at(-1)!])] });
        if (!error && status.length === 0) return resolve({ status: 'good', fingerprints: [] }); // ssh: no gpg status lines
        if (status.some((line) => line.startsWith('[GNUPG:] BADSIG '))) return resolve({ status: 'bad' });
        if (status.some((line) => /^\[GNUPG:\] (ERRSIG|NO_PUBKEY) /.test(line))) {
          return resolve({ status: 'unverifiable', reason: 'its public key is not in your gpg keyring: import the keys coffer.yaml lists' });
        }
        const first = String(stderr).split('\n').find((line) => line.trim() !== '' && !line.startsWith('[GNUPG:]'));
        resolve({ status: 'unverifiable', reason: first ? first.trim().slice(0, 120) : 'git verify-commit failed' });
      });
    });
}

export function registerAuditCommand(program: Command, context: CliContext): void {
  const command = program
    .command('audit')
    .description('walk git history for tamper evidence (--verify) and anomalies (--anomalies)')
    .option('--verify', 'unsigned or foreign-signed commits (when coffer.yaml requires signing), plaintext commits, MAC failures in past versions (with a key), recipients added before the policy allowed them')
    .option('--anomalies', 'production changes by non-readers, mass changes, changes outside --window, recipients added directly to a file, revoked readers whose secrets were never rotated')
    .option('--production <environment>', 'an environment whose changes need a reader as author (repeatable; default: environments named *prod*)', collect)
    .option('--mass <n>', 'changed values in one commit that count as a mass change', '20')
    .option('--window <window>', 'allowed change window in the author\'s time, e.g. "Mon-Fri 08:00-18:00"')
    .option('--ref <rev>', 'walk the history of this branch or commit (default HEAD)')
    .option('--no-decrypt', 'do not use a key (no MAC checks of past versions)')
    .option('--no-signatures', 'compare only the issuer a signature names with coffer.yaml, without checking it cryptographically (no git verify-commit)')
    .option('--approvals', 'on GitHub: every change to a secrets file on the default branch came through a pull request with approvals.required approving reviews by others than its author')
    .option('--json', 'machine-readable output');
  addGitHubOptions(command, false);
  addIdentityOptions(command);
  command
    .addHelpText(
      'after',
      '\nWhen coffer.yaml says signing: { required: true, keys: [...] }, every commit must be signed by a listed key (or a\nrecipient\'s pgp key): each signature is checked with `git verify-commit`, so the public keys must be in your gpg\nkeyring (SSH signatures: gpg.ssh.allowedSignersFile); one that cannot be checked is an "unverified signature".\n\nExit code 3 when anything is found.\n\nExamples:\n  coffer audit --verify\n  coffer audit --anomalies --window "Mon-Fri 08:00-18:00" --json')
    .action(async (options: AuditOptions) => {
      if (options.approvals) {
        if ((await auditApprovals(context, options)) > 0) program.setOptionValue('__exitCode', 3);
        if (!options.verify && !options.anomalies) return;
      }
      const verify = options.verify || !options.anomalies;
      const anomalies = options.anomalies || !options.verify;
      const scope = await loadHistoryScope(context, options, 'coffer audit');
      const findings: AuditFinding[] = [];
      let mac = { checked: 0, unchecked: 0 };
      if (verify) {
        const policy = policyTimelineOf(scope);
        const versions = scope.keys ? new Set(scope.history.revisions.map((revision) => revision.oid)).size : 0;
        const progress = startProgress(context, versions, 'audit: MAC', options);
        const result = await verifyHistory(scope.history, {
          onVersion: (path) => progress.tick(path),
          ...(scope.config ? { config: scope.config } : {}),
          ...(policy ? { policy } : {}),
          ...(scope.keys ? { keys: scope.keys } : {}),
          ...(options.signatures === false ? {} : { verifySignature: gitSignatureVerifier(context, scope.repository.dir) }),
        });
        progress.done();
        findings.push(...result.findings);
        mac = { checked: result.macChecked, unchecked: result.macUnchecked };
      }
      if (anomalies) findings.push(...(await collectAnomalies(scope, options)));
      if (options.json) writeJson(context, { commits: scope.history.commits.length, findings, macChecked: mac.checked, macUnchecked: mac.unchecked });
      else {
        if (findings.length > 0) {
          const rows = findings.map((finding) => [finding.date.slice(0, 10), finding.commit.slice(0, 7), finding.author, finding.kind, finding.message]);
          context.stdout.write(`${formatTable([['DATE', 'COMMIT', 'AUTHOR', 'FINDING', 'DETAIL'], ...rows])}\n`);
        }
        context.stderr.write(
          `${findings.length} finding${findings.length === 1 ? '' : 's'} in ${scope.history.commits.length} commits${verify ? `; MAC checked on ${mac.checked} past versions${mac.unchecked ? ` (${mac.unchecked} could not be opened with your keys)` : ''}` : ''}\n`,
        );
      }
      if (findings.length > 0) program.setOptionValue('__exitCode', 3);
    });
}
