// The post step: removes the Action's private directory (dotenv/JSON files, the imported PGP
// keyring) whatever happened in the main step. The runner runs it at the end of the job.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** Only a directory the main step made (`coffer-` inside RUNNER_TEMP) is ever removed. */
export function isPrivateDir(path: string, runnerTemp: string | undefined): boolean {
  return Boolean(runnerTemp) && path.startsWith(`${runnerTemp}/`) && basename(path).startsWith('coffer-') && !path.slice(runnerTemp!.length + 1).includes('/');
}

/** Stops the gpg-agent of the PGP keyring imported into the private directory, then deletes the keyring. */
export async function removeGnupgHome(privateDir: string): Promise<void> {
  const gnupgHome = join(privateDir, 'gnupg');
  if (!existsSync(gnupgHome)) return;
  spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: gnupgHome }, stdio: 'ignore', timeout: 5000 });
  await rm(gnupgHome, { recursive: true, force: true, maxRetries: 3 });
}

/** Deletes the private directory with everything in it (files, keyring). */
export async function removePrivateDir(path: string): Promise<void> {
  await removeGnupgHome(path);
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}
