// The `identity` input as a key ring: an age key file's text (AGE-SECRET-KEY-1..., comments
// allowed) is used alone, never mixed with keys the runner happens to have; an ASCII-armored PGP
// private key is imported into a fresh GnuPG home inside the Action's private directory and used
// through the runner's gpg. Without the input, keys come from the job's environment as sops reads
// them (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, GNUPGHOME...).
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CofferError } from '../../src/errors.js';
import type { KeyRing } from '../../src/file/key-ring.js';
import { recipientOfIdentity } from '../../src/keys/age.js';
import { createKeyRing } from '../../src/keys/key-ring.js';
import { createGpgKeySource } from '../../src/keys/pgp.js';

export type IdentityKind = 'age' | 'pgp' | 'environment';

const PGP_PRIVATE = /-----BEGIN PGP PRIVATE KEY BLOCK-----/;
const AGE_SECRET = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m;

/** What the input holds; never echoes it. */
export function identityKind(identity: string): IdentityKind {
  if (identity === '') return 'environment';
  if (PGP_PRIVATE.test(identity)) return 'pgp';
  if (AGE_SECRET.test(identity.trim().split(/\s+/).join('\n'))) return 'age';
  throw new CofferError('USAGE', 'the identity input is neither an age identity (AGE-SECRET-KEY-1...) nor an ASCII-armored PGP private key', {
    hints: ['store the output of `coffer keygen` (or the whole age key file) in a repository secret and pass it as the identity input (a secrets expression)'],
  });
}

/** Names the identity in messages by its public side only: `the identity input (age1...)`. */
export function describeIdentity(identity: string): string {
  const kind = identityKind(identity);
  if (kind === 'environment') return "the job's keys (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, gpg)";
  if (kind === 'pgp') return 'the identity input (a PGP key)';
  const recipients = identity
    .split(/\s+/)
    .filter((word) => word.startsWith('AGE-SECRET-KEY-1'))
    .map((word) => {
      try {
        return recipientOfIdentity(word);
      } catch {
        return 'an invalid age key';
      }
    });
  return `the identity input (${recipients.join(', ')})`;
}

function importPgpKey(gpg: string, home: string, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(gpg, ['--batch', '--quiet', '--import'], { env: { ...process.env, GNUPGHOME: home }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (cause) =>
      reject(new CofferError('KEY_SOURCE_FAILED', `cannot import the PGP identity: ${gpg} could not be started (${(cause as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause })),
    );
    child.on('close', (status) => {
      if (status === 0) resolve();
      else {
        // gpg's own lines name key IDs, never key material
        const said = stderr.split('\n').filter((line) => line.startsWith('gpg: ')).slice(-2).join('; ');
        reject(new CofferError('KEY_FILE_UNREADABLE', `the PGP identity could not be imported (gpg exit ${status ?? 'signal'}${said ? `: ${said}` : ''})`, { hints: ['export the key with `gpg --armor --export-secret-keys KEYID` into the secret'] }));
      }
    });
    child.stdin.end(key);
  });
}

/**
 * The environment the key layer reads the identity input from: SOPS_AGE_KEY alone for an age key,
 * GNUPGHOME of a fresh keyring (imported below `privateDir`) for a PGP key, else the job's own.
 */
export async function identityEnvironment(
  identity: string,
  env: Readonly<Record<string, string | undefined>>,
  privateDir: string,
): Promise<Record<string, string | undefined>> {
  const kind = identityKind(identity);
  if (kind === 'environment') return { ...env };
  // No SOPS_AGE_KEY_FILE/CMD and an empty HOME keep the runner's own age keys out: the input is the only identity.
  const { SOPS_AGE_KEY: _key, SOPS_AGE_KEY_FILE: _file, SOPS_AGE_KEY_CMD: _command, ...rest } = env;
  if (kind === 'age') return { ...rest, HOME: '', SOPS_AGE_KEY: identity };
  const home = join(privateDir, 'gnupg');
  await mkdir(home, { mode: 0o700 });
  await importPgpKey(env['SOPS_GPG_EXEC'] || 'gpg', home, identity);
  return { ...rest, HOME: '', GNUPGHOME: home };
}

/** A key ring over the identity input; PGP keys are imported below `privateDir`. */
export async function createIdentityKeyRing(identity: string, env: Readonly<Record<string, string | undefined>>, privateDir: string): Promise<KeyRing> {
  const keyEnv = await identityEnvironment(identity, env, privateDir);
  return createKeyRing({ env: keyEnv, pgp: createGpgKeySource({ env: keyEnv }) });
}
