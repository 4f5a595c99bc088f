// The PGP key source (sops-format.md sections 6 and 9): the data key wrapped and unwrapped by the
// user's own gpg, so their keyring (GNUPGHOME), gpg-agent and pinentry do the secret-key work.
// SOPS_GPG_EXEC names another binary. Key material never goes in argv: the data key and the
// armored message travel on stdin/stdout; gpg's status lines (--status-fd 2) say what happened.

import { CofferError } from '../errors.js';
import type { PgpKeyEntry, PgpKeySource } from './key-groups.js';

/** One gpg invocation. */
export interface GpgRun {
  binary: string;
  args: string[];
  input: Uint8Array;
  env: Readonly<Record<string, string | undefined>>;
}

export interface GpgOutput {
  /** -1 when gpg was killed by a signal. */
  exitCode: number;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs gpg; rejects (with the spawn error's `code`, e.g. ENOENT) only when it cannot be started. */
export type RunGpg = (run: GpgRun) => Promise<GpgOutput>;

export interface GpgKeySourceOptions {
  /** Environment for gpg: SOPS_GPG_EXEC picks the binary, GNUPGHOME the keyring. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * A terminal is attached, so gpg may ask for a passphrase through pinentry: unwrap runs without
   * `--batch`. Default false (`--batch`; gpg-agent may still use a cached passphrase).
   */
  interactive?: boolean;
  /** Default {@link spawnGpg}. */
  runGpg?: RunGpg;
  /** Clock for `created_at` (tests). */
  now?: () => Date;
}

export interface GpgKeySource extends PgpKeySource {
  /** What this source is, for "tried" lists: `gpg (GNUPGHOME=/path)`. Never key material. */
  describe(): string;
}

/** Data key (32 bytes) or Shamir share (33 bytes). */
const SECRET_SIZES = [32, 33];
const FINGERPRINT = /^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/;
const STATUS_PREFIX = '[GNUPG:] ';

/** A fingerprint as SOPS keeps it: spaces removed (SOPS strips them from `--pgp` and `.sops.yaml`). */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/\s+/g, '');
}

/** True when two fingerprints name the same key (case and spaces ignored). */
export function sameFingerprint(a: string, b: string): boolean {
  return normalizeFingerprint(a).toUpperCase() === normalizeFingerprint(b).toUpperCase();
}

/** The real gpg, as a child process with stdin/stdout/stderr piped. */
export const spawnGpg: RunGpg = async (run) => {
  // imported here: child_process loads net and dgram, and most runs never start gpg
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(run.env)) if (value !== undefined) env[name] = value;
    const child = spawn(run.binary, run.args, { env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // gpg may exit before reading all of stdin (bad arguments); its exit status says why, not EPIPE
    child.stdin.on('error', () => {});
    child.on('error', reject);
    child.on('close', (code) => {
      const out = Buffer.concat(stdout);
      const result = new Uint8Array(out);
      out.fill(0);
      for (const chunk of stdout) chunk.fill(0);
      resolve({ exitCode: code ?? -1, stdout: result, stderr: Buffer.concat(stderr).toString('utf8') });
    });
    child.stdin.end(run.input);
  });
};

interface GpgReport {
  status: string[][];
  /** gpg's human-readable lines (without status lines), for error messages. */
  messages: string[];
}

function readReport(stderr: string): GpgReport {
  const status: string[][] = [];
  const messages: string[] = [];
  for (const line of stderr.split(/\r?\n/)) {
    if (line.startsWith(STATUS_PREFIX)) status.push(line.slice(STATUS_PREFIX.length).split(' '));
    else if (line.trim() !== '') messages.push(line.trim().replace(/\.$/, ''));
  }
  return { status, messages };
}

function hasStatus(report: GpgReport, keyword: string): boolean {
  return report.status.some((fields) => fields[0] === keyword);
}

/**
 * No local secret key for any key the message is encrypted to. gpg also prints "decryption failed:
 * No secret key" when the key is present but pinentry failed, so the status lines decide: every
 * ENC_TO key has a NO_SECKEY. Without status lines (a SOPS_GPG_EXEC wrapper) fall back to stderr.
 */
function lacksSecretKey(report: GpgReport): boolean {
  if (report.status.length === 0) return report.messages.some((line) => /no secret key/i.test(line));
  const wanted = report.status.filter((fields) => fields[0] === 'ENC_TO').map((fields) => fields[1]);
  const missing = new Set(report.status.filter((fields) => fields[0] === 'NO_SECKEY').map((fields) => fields[1]));
  return wanted.length > 0 && wanted.every((keyId) => missing.has(keyId));
}

/** gpg's last few message lines, quoted in errors (key IDs and user IDs only, never key material). */
function gpgSays(report: GpgReport): string {
  // only gpg's own lines: the indented user ID after "encrypted with" adds nothing
  const lines = report.messages.filter((line) => line.startsWith('gpg: ') && !/^gpg: (?:encrypted with|WARNING: unsafe)/.test(line)).slice(-3);
  return lines.length ? `: ${lines.join('; ')}` : '';
}

function rfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A PGP key source over the user's gpg (`SOPS_GPG_EXEC` or `gpg`, keyring from `GNUPGHOME`). */
export function createGpgKeySource(options: GpgKeySourceOptions): GpgKeySource {
  const { env } = options;
  const binary = env['SOPS_GPG_EXEC'] || 'gpg';
  const runGpg = options.runGpg ?? spawnGpg;
  const now = options.now ?? (() => new Date());
  const description = `${binary} (${env['GNUPGHOME'] ? `GNUPGHOME=${env['GNUPGHOME']}` : 'default GnuPG home'})`;

  const run = async (args: string[], input: Uint8Array, action: string): Promise<GpgOutput> => {
    try {
      return await runGpg({ binary, args, input, env });
    } catch (cause) {
      const code = (cause as { code?: unknown }).code;
      const missing = code === 'ENOENT';
      throw new CofferError(
        'KEY_SOURCE_FAILED',
        missing ? `cannot ${action}: ${binary} was not found` : `cannot ${action}: ${binary} could not be started (${String(code ?? 'unknown error')})`,
        {
          hints: missing
            ? ['install GnuPG (`apt install gnupg`, `brew install gnupg`), or set SOPS_GPG_EXEC to the gpg binary']
            : ['check that SOPS_GPG_EXEC names an executable gpg binary'],
          data: { keySource: 'pgp', gpg: binary },
          cause,
        },
      );
    }
  };

  return {
    describe: () => description,

    async wrap(dataKey, fingerprint) {
      const fp = normalizeFingerprint(fingerprint);
      if (!FINGERPRINT.test(fp)) {
        throw new CofferError('INVALID_RECIPIENT', 'a PGP recipient is not a hexadecimal key fingerprint', {
          hints: ['give the 40-hex fingerprint of the key (`gpg --list-keys --with-colons` shows it on the fpr line)'],
          data: { fingerprint },
        });
      }
      // As SOPS: only this recipient (no default or encrypt-to keys from gpg.conf), and no trust
      // prompt: the fingerprint was chosen explicitly, which is what trust would establish.
      const args = ['--batch', '--yes', '--status-fd', '2', '--armor', '--no-default-recipient', '--no-encrypt-to'];
      args.push('--trust-model', 'always', '--recipient', fp, '--encrypt');
      const output = await run(args, dataKey, `wrap the data key for PGP key ${fp}`);
      const report = readReport(output.stderr);
      const armored = new TextDecoder().decode(output.stdout).replace(/\r\n/g, '\n').replace(/\n+$/, '');
      if (output.exitCode !== 0 || !armored.startsWith('-----BEGIN PGP MESSAGE-----')) {
        const noKey = hasStatus(report, 'INV_RECP') || report.messages.some((line) => /no public key/i.test(line));
        throw new CofferError('KEY_SOURCE_FAILED', `cannot wrap the data key for PGP key ${fp} with ${description}${gpgSays(report)}`, {
          hints: noKey
            ? [`import the public key first: \`gpg --import KEY.asc\` or \`gpg --recv-keys ${fp}\``, 'check that the key is not expired or revoked and can encrypt']
            : ['run `gpg --list-keys` to check that GnuPG works with this GNUPGHOME'],
          data: { keySource: 'pgp', fingerprint: fp, gpg: description },
        });
      }
      // 3.13 writes the message without a trailing newline (YAML `|-`)
      return { fp, enc: armored, created_at: rfc3339Seconds(now()) } satisfies PgpKeyEntry;
    },

    async unwrap(entry) {
      const message = entry.enc.endsWith('\n') ? entry.enc : `${entry.enc}\n`;
      // No --quiet: it also hides the NO_SECKEY status lines that tell "not ours" from "failed".
      const args = [...(options.interactive ? [] : ['--batch']), '--status-fd', '2', '--decrypt'];
      const output = await run(args, new TextEncoder().encode(message), `unwrap the data key for PGP key ${entry.fp}`);
      const report = readReport(output.stderr);
      if (output.exitCode !== 0 || !(report.status.length === 0 || hasStatus(report, 'DECRYPTION_OKAY'))) {
        output.stdout.fill(0);
        if (lacksSecretKey(report)) return undefined;
        const agent = hasStatus(report, 'PINENTRY_LAUNCHED') || report.messages.some((line) => /agent|pinentry|passphrase|ioctl/i.test(line));
        throw new CofferError('KEY_SOURCE_FAILED', `cannot unwrap the data key for PGP key ${entry.fp} with ${description}${gpgSays(report)}`, {
          hints: agent || report.status.some((fields) => fields[0] === 'KEY_CONSIDERED')
            ? [
                'the secret key is here but gpg-agent could not use it: check the passphrase, and run `export GPG_TTY=$(tty)` so pinentry can ask for it',
                'restart the agent with `gpgconf --kill gpg-agent` if it is stuck',
              ]
            : ['check the file was not damaged (`git diff`), and that `gpg --decrypt` works with this GNUPGHOME'],
          data: { keySource: 'pgp', fingerprint: entry.fp, gpg: description },
        });
      }
      if (!SECRET_SIZES.includes(output.stdout.length)) {
        const size = output.stdout.length;
        output.stdout.fill(0);
        throw new CofferError('DATA_KEY_INVALID', `the data key unwrapped for PGP key ${entry.fp} is ${size} bytes, expected 32`, {
          hints: ['the file was damaged or written by an incompatible tool; restore it from git'],
          data: { keySource: 'pgp', fingerprint: entry.fp },
        });
      }
      return output.stdout;
    },
  };
}
