// `coffer audit --verify` with coffer.yaml `signing: { required: true }`: commits signed with real
// git and gpg by a listed key pass; an unsigned commit, one signed by an unlisted key, and one
// whose signature was copied onto altered content are reported.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGnupgHome, type GnupgHome } from '../helpers/gnupg.js';
import { keyRingFor, makeTestKey } from '../helpers/keys.js';
import { createTestRepo, SecretsWriter, type TestRepo } from '../git/repo.js';
import { runInProcess } from './sandbox.js';

function generateSigningKey(gnupg: GnupgHome, uid: string): string {
  gnupg.gpg(['--batch', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  const listing = gnupg.gpg(['--batch', '--with-colons', '--list-secret-keys', uid]).toString();
  return /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1]!;
}

describe('coffer audit --verify: commit signatures', () => {
  let gnupg: GnupgHome;
  let repo: TestRepo;
  let alice: string;
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    gnupg = await createGnupgHome();
    alice = generateSigningKey(gnupg, 'Alice <alice@example.com>');
    const mallory = generateSigningKey(gnupg, 'Mallory <mallory@example.com>');
    const key = await makeTestKey();
    const text = await new SecretsWriter(keyRingFor(key)).encrypt('secrets/app.yaml', 'a: 1\n', [key]);
    const policy = `version: 1\nsigning:\n  required: true\n  keys: [${alice}]\nrecipients:\n  alice: { age: ${key.recipient} }\nenvironments:\n  prod:\n    files: [secrets/app.yaml]\n    readers: [alice]\n`;
    repo = await createTestRepo([], { home: gnupg.dir, gnupgHome: gnupg.dir });
    const signedBy = (fingerprint: string) => ({ 'gpg.program': 'gpg', 'user.signingkey': fingerprint, 'commit.gpgsign': 'true' });
    commits.good = repo.commit({ author: 'Alice <alice@example.com>', date: '2024-01-01T10:00:00Z', files: { 'coffer.yaml': policy, 'secrets/app.yaml': text }, config: signedBy(alice) });
    commits.unsigned = repo.commit({ author: 'Bob <bob@example.com>', date: '2024-01-02T10:00:00Z', files: { 'notes.txt': 'x\n' } });
    commits.mallory = repo.commit({ author: 'Mallory <mallory@example.com>', date: '2024-01-03T10:00:00Z', files: { 'notes.txt': 'y\n' }, config: signedBy(mallory) });
    const signed = repo.commit({ author: 'Alice <alice@example.com>', date: '2024-01-04T10:00:00Z', files: { 'notes.txt': 'z\n' }, config: signedBy(alice) });
    // Alice's signature copied onto a commit whose message was changed: the issuer still reads "alice"
    const raw = repo.git(['cat-file', 'commit', signed]).replace('commit at 2024-01-04T10:00:00Z', 'commit at 2024-01-04T10:00:00Z (edited)');
    writeFileSync(join(gnupg.dir, 'forged-commit'), raw);
    commits.forged = repo.git(['hash-object', '-t', 'commit', '-w', join(gnupg.dir, 'forged-commit')]).trim();
    repo.git(['update-ref', 'refs/heads/main', commits.forged]);
    repo.git(['reset', '-q', '--hard', 'main']);
  }, 60_000);
  afterAll(async () => {
    await repo?.dispose();
    await gnupg?.remove();
  });

  it('reports unsigned, unlisted and forged signatures, and accepts the good one', async () => {
    const env = { PATH: process.env.PATH, HOME: gnupg.dir, GNUPGHOME: gnupg.dir, GIT_CONFIG_NOSYSTEM: '1' };
    const result = await runInProcess(['audit', '--verify', '--no-decrypt', '--json'], repo.dir, env);
    expect(result.code).toBe(3);
    const findings = JSON.parse(result.stdout).findings.filter((finding: { kind: string }) => finding.kind !== 'plaintext commit');
    expect(findings.map((finding: { kind: string; commit: string }) => [finding.kind, finding.commit])).toEqual([
      ['unsigned commit', commits.unsigned],
      ['unknown signer', commits.mallory],
      ['bad signature', commits.forged],
    ]);
    expect(findings.some((finding: { commit: string }) => finding.commit === commits.good)).toBe(false);
  });

  it('without the public key in the keyring, a listed signer is unverified; --no-signatures only reads the issuer', async () => {
    const empty = await createGnupgHome();
    try {
      const env = { PATH: process.env.PATH, HOME: empty.dir, GNUPGHOME: empty.dir, GIT_CONFIG_NOSYSTEM: '1' };
      const result = await runInProcess(['audit', '--verify', '--no-decrypt', '--json'], repo.dir, env);
      const kinds = JSON.parse(result.stdout).findings.map((finding: { kind: string; commit: string }) => [finding.kind, finding.commit]);
      expect(kinds).toContainEqual(['unverified signature', commits.good]);
      const issuerOnly = await runInProcess(['audit', '--verify', '--no-decrypt', '--no-signatures', '--json'], repo.dir, env);
      const issuerKinds = JSON.parse(issuerOnly.stdout).findings.map((finding: { kind: string; commit: string }) => [finding.kind, finding.commit]);
      // without the cryptographic check, the forged commit passes: the limitation --no-signatures accepts
      expect(issuerKinds).toEqual([
        ['unsigned commit', commits.unsigned],
        ['unknown signer', commits.mallory],
      ]);
    } finally {
      await empty.remove();
    }
  });
});
