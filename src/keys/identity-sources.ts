// Where age identities (SSH keys included) could come from (SOPS's places), answered without
// reading any: commands whose output cannot change without a key (history answered from a cache)
// ask this first, and load no key code when the answer is "nowhere".
import { statSync } from 'node:fs';
import { posix, win32 } from 'node:path';

export interface IdentityPlaces {
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  homedir: string;
}

/** `<config dir>/sops/age/keys.txt` as SOPS computes it; undefined if there is no config dir. */
export function defaultAgeKeyFile(sources: IdentityPlaces): string | undefined {
  const { env, platform } = sources;
  if (platform === 'win32') {
    const appData = env['AppData'] ?? env['APPDATA'];
    return appData ? win32.join(appData, 'sops', 'age', 'keys.txt') : undefined;
  }
  const xdg = env['XDG_CONFIG_HOME'];
  let configDir: string | undefined;
  if (platform === 'darwin') {
    configDir = xdg ? xdg : sources.homedir && posix.join(sources.homedir, 'Library', 'Application Support');
  } else {
    // Go's os.UserConfigDir ignores a relative XDG_CONFIG_HOME
    configDir = xdg && posix.isAbsolute(xdg) ? xdg : sources.homedir && posix.join(sources.homedir, '.config');
  }
  return configDir ? posix.join(configDir, 'sops', 'age', 'keys.txt') : undefined;
}

/** `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`, which SOPS tries when present; none without a home. */
export function defaultSshKeyFiles(places: IdentityPlaces): string[] {
  if (!places.homedir) return [];
  const path = places.platform === 'win32' ? win32 : posix;
  return [path.join(places.homedir, '.ssh', 'id_ed25519'), path.join(places.homedir, '.ssh', 'id_rsa')];
}

/**
 * Whether any age identity could be found: `--identity` files, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE,
 * SOPS_AGE_KEY_CMD, or anything at the default key file's path (even unreadable: discovery decides).
 */
export function ageIdentitySourcesExist(places: IdentityPlaces, identityFiles: readonly string[]): boolean {
  if (identityFiles.length > 0) return true;
  const { env } = places;
  if (env['SOPS_AGE_KEY'] !== undefined || env['SOPS_AGE_KEY_FILE'] !== undefined || env['SOPS_AGE_KEY_CMD'] !== undefined) return true;
  const file = defaultAgeKeyFile(places);
  return file !== undefined && mayExist(file);
}

/** Only a file that is certainly not there is no source. */
function mayExist(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (error) {
    return (error as { code?: string }).code !== 'ENOENT' && (error as { code?: string }).code !== 'ENOTDIR';
  }
}

/**
 * Whether an SSH key could be an age identity: SOPS_AGE_SSH_PRIVATE_KEY_FILE or _CMD, or anything
 * at ~/.ssh/id_ed25519 or ~/.ssh/id_rsa. Asked only when a file has an ssh recipient.
 */
export function sshIdentitySourcesExist(places: IdentityPlaces): boolean {
  const { env } = places;
  if (env['SOPS_AGE_SSH_PRIVATE_KEY_FILE'] !== undefined || env['SOPS_AGE_SSH_PRIVATE_KEY_CMD'] !== undefined) return true;
  return defaultSshKeyFiles(places).some(mayExist);
}
