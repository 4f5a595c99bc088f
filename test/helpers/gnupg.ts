// Throwaway GnuPG homes for tests: never the developer's own keyring, and no agent left running.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURE_PGP_KEY = join(import.meta.dirname, '../fixtures/sops/pgp/sops-functional-tests-key.asc');
/** Key 1 of the SOPS functional-test key file (unprotected, encryption subkey 25294A17CD90507F). */
export const FIXTURE_PGP_FINGERPRINT = 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4';

export interface GnupgHome {
  dir: string;
  /** An environment holding only PATH, HOME and GNUPGHOME (both inside `dir`). */
  env: Record<string, string>;
  /** Runs the real gpg in this home; throws when it exits non-zero. */
  gpg(args: string[], input?: string | Uint8Array): Buffer;
  /** Stops this home's gpg-agent and deletes the directory. */
  remove(): Promise<void>;
}

export interface GnupgHomeOptions {
  /** Import test/fixtures/sops/pgp/sops-functional-tests-key.asc. */
  importFixtureKey?: boolean;
}

export async function createGnupgHome(options: GnupgHomeOptions = {}): Promise<GnupgHome> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-gnupg-'));
  // mkdtemp already creates it 0700, which gpg insists on
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, GNUPGHOME: dir };
  // A pinentry that fails at once: a test must never pop up a passphrase dialog
  await writeFile(join(dir, 'gpg-agent.conf'), `pinentry-program ${execFileSync('sh', ['-c', 'command -v false']).toString().trim()}\n`);
  const gpg = (args: string[], input?: string | Uint8Array) =>
    execFileSync('gpg', args, { env, input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
  if (options.importFixtureKey) gpg(['--batch', '--import', FIXTURE_PGP_KEY]);
  return {
    dir,
    env,
    gpg,
    async remove() {
      try {
        execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
