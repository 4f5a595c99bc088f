// `coffer audit --verify`: tamper evidence from history. Unsigned commits or unknown signers (when
// coffer.yaml requires signing), secrets files committed in plaintext, MAC failures in past versions
// (with a key), and recipients added that the policy at that commit did not give the file.
import { CofferError } from '../errors.js';
import type { KeyRing } from '../file/key-ring.js';
import { openFile } from '../file/secrets-file.js';
import { detectStore } from '../format/stores/index.js';
import type { GitCommit } from '../git/repository.js';
import { isAllowedSigner, readCommitSigner } from '../git/signature.js';
import type { CofferConfig } from '../policy/coffer-config.js';
import type { AuditFinding } from './findings.js';
import type { SecretHistory } from './history.js';
import type { PolicyTimeline } from './policy-history.js';

export interface VerifyOptions {
  /** coffer.yaml at the walked ref (signing rules). */
  config?: CofferConfig;
  policy?: PolicyTimeline;
  keys?: KeyRing;
  /**
   * Checks a signed commit's signature cryptographically (`git verify-commit`); without it only the
   * issuer named in the signature is compared with the allowed keys, which anyone can forge.
   */
  verifySignature?: (commit: GitCommit) => Promise<SignatureCheck>;
  /** Called before each past version's MAC is checked (a progress bar's tick). */
  onVersion?: (path: string) => void;
}

/** good: valid and made by `fingerprints` (signing key and primary key); bad: does not match the commit; unverifiable: no public key or no verifier. */
export type SignatureCheck = { status: 'good'; fingerprints: string[] } | { status: 'bad' } | { status: 'unverifiable'; reason: string };

export interface VerifyResult {
  findings: AuditFinding[];
  /** Past versions whose MAC was checked, and those no key could open. */
  macChecked: number;
  macUnchecked: number;
}

const describe = (commit: GitCommit) => ({ commit: commit.oid, date: new Date(commit.author.timestamp * 1000).toISOString(), author: commit.author.name });

export async function verifyHistory(history: SecretHistory, options: VerifyOptions): Promise<VerifyResult> {
  const findings: AuditFinding[] = [];
  const commits = new Map(history.commits.map((commit) => [commit.oid, commit]));
  const signing = options.config?.signing;
  if (signing?.required) {
    const allowed = [...[...options.config!.recipients.values()].flatMap((recipient) => recipient.pgp), ...signing.keys];
    for (const commit of history.commits) {
      if (!commit.signature) {
        findings.push({ kind: 'unsigned commit', ...describe(commit), message: `commit ${commit.oid.slice(0, 7)} is not signed` });
        continue;
      }
      const signer = readCommitSigner(commit.signature);
      const who = signer.fingerprint ?? signer.keyId ?? signer.publicKey ?? 'an unreadable signature';
      if (!isAllowedSigner(signer, allowed)) {
        findings.push({ kind: 'unknown signer', ...describe(commit), recipients: [who], message: `commit ${commit.oid.slice(0, 7)} is signed by ${who}, which coffer.yaml does not list` });
        continue;
      }
      if (!options.verifySignature) continue;
      const check = await options.verifySignature(commit);
      const short = commit.oid.slice(0, 7);
      if (check.status === 'bad') {
        findings.push({ kind: 'bad signature', ...describe(commit), recipients: [who], message: `commit ${short} carries a signature by ${who} that does not match its content: it was altered or forged` });
      } else if (check.status === 'unverifiable') {
        findings.push({ kind: 'unverified signature', ...describe(commit), recipients: [who], message: `commit ${short} names ${who} as signer, but the signature could not be checked (${check.reason})` });
      } else if (signer.kind === 'pgp' && !check.fingerprints.some((fingerprint) => isAllowedSigner({ kind: 'pgp', fingerprint }, allowed))) {
        findings.push({ kind: 'unknown signer', ...describe(commit), recipients: check.fingerprints, message: `commit ${short} is validly signed by ${check.fingerprints[0]}, which coffer.yaml does not list` });
      }
    }
  }
  for (const event of history.events) {
    if (event.event === 'not encrypted') {
      findings.push({
        kind: 'plaintext commit',
        commit: event.commit,
        date: event.date,
        author: event.author,
        file: event.file,
        message: `${event.file} was committed in plaintext in ${event.commit.slice(0, 7)}: every value it held is in git history; rotate them`,
      });
    }
    if (event.event === 'recipients changed' && event.recipientsAdded?.length && options.policy) {
      const allowed = await options.policy.allowedFor(event.commit, event.file);
      const known = await options.policy.knownAt(event.commit);
      // keys no recipient owns are the anomaly "added directly"; here: known people the policy did not give this file
      const unallowed = event.recipientsAdded.filter((key) => known.has(key) && !allowed?.has(key));
      if (unallowed.length > 0) {
        findings.push({
          kind: 'recipient without policy',
          commit: event.commit,
          date: event.date,
          author: event.author,
          file: event.file,
          recipients: unallowed.map((key) => known.get(key) ?? key),
          message: `${event.file}: ${unallowed.map((key) => known.get(key) ?? key).join(', ')} added as recipient in ${event.commit.slice(0, 7)} before coffer.yaml gave them this file`,
        });
      }
    }
  }
  let macChecked = 0;
  let macUnchecked = 0;
  if (options.keys) {
    const seen = new Set<string>();
    for (const revision of history.revisions) {
      if (seen.has(revision.oid)) continue;
      seen.add(revision.oid);
      options.onVersion?.(revision.path);
      const version = await history.versionOf(revision.oid, revision.path);
      if (version.kind !== 'encrypted') continue;
      const content = await history.repository.readBlob(revision.oid);
      try {
        await openFile({ file: revision.path, store: detectStore(revision.path), content }, options.keys, { readOnly: true });
        macChecked++;
      } catch (error) {
        if (error instanceof CofferError && error.exitCode === 3) {
          macChecked++;
          const commit = commits.get(revision.commit)!;
          findings.push({
            kind: 'mac failure',
            ...describe(commit),
            file: revision.path,
            message: `${revision.path} at ${revision.commit.slice(0, 7)} fails its integrity check (${error.code.toLowerCase().replaceAll('_', ' ')}): the file was altered outside sops/coffer`,
          });
        } else macUnchecked++;
      }
    }
  }
  return { findings, macChecked, macUnchecked };
}
