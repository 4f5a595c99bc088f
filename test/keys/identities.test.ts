import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { generateAgeIdentity, recipientOfIdentity, unwrapWithAgeIdentities, wrapForAgeRecipient } from '../../src/keys/age.js';
import { type KeySources, defaultAgeKeyFile, discoverAgeIdentities, nodeKeySources, parseAgeKeyText } from '../../src/keys/identities.js';

const A = 'AGE-SECRET-KEY-1QXRVEJH9S4NQU0FPD6V79ESZQ8S6PXH3L8V40EVPTHFH6KNKD4DQ7SKC4P';
const A_RECIPIENT = 'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr';
let B: string;
let C: string;

beforeAll(async () => {
  B = (await generateAgeIdentity()).identity;
  C = (await generateAgeIdentity()).identity;
});

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
}

/** In-memory sources: files and commands are tables. */
function fakeSources(
  env: Record<string, string>,
  files: Record<string, string> = {},
  commands: Record<string, (env: Readonly<Record<string, string | undefined>>) => string> = {},
  platform: NodeJS.Platform = 'linux',
): KeySources & { commandRuns: string[] } {
  const commandRuns: string[] = [];
  return {
    env,
    platform,
    homedir: '/home/me',
    commandRuns,
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw enoent(path);
      return Buffer.from(text);
    },
    runCommand: async (command, commandEnv) => {
      commandRuns.push(`${command} ${commandEnv['SOPS_AGE_RECIPIENT']}`);
      const run = commands[command];
      if (!run) throw Object.assign(new Error('command failed'), { code: 127 });
      return run(commandEnv);
    },
  };
}

function recipients(identities: { recipient: string | undefined }[]): (string | undefined)[] {
  return identities.map((identity) => identity.recipient);
}

describe('parseAgeKeyText', () => {
  test('comments, blank lines, several identities per line and per file', () => {
    const parsed = parseAgeKeyText(`# created: today\n# public key: ${A_RECIPIENT}\n\n${A}\r\n  ${B}   ${C}\n`);
    expect(parsed.identities).toHaveLength(3);
    expect(parsed.badLines).toEqual([]);
  });

  test('bad lines are reported by number', () => {
    expect(parseAgeKeyText(`${A}\nnot-a-key\n${B}\nAGE-SECRET-KEY-1XYZ`).badLines).toEqual([2, 4]);
  });
});

describe('defaultAgeKeyFile', () => {
  test.each([
    ['linux', {}, '/home/me/.config/sops/age/keys.txt'],
    ['linux', { XDG_CONFIG_HOME: '/xdg' }, '/xdg/sops/age/keys.txt'],
    ['linux', { XDG_CONFIG_HOME: 'relative' }, '/home/me/.config/sops/age/keys.txt'],
    ['darwin', {}, '/home/me/Library/Application Support/sops/age/keys.txt'],
    ['darwin', { XDG_CONFIG_HOME: '/xdg' }, '/xdg/sops/age/keys.txt'],
    ['win32', { AppData: 'C:\\Users\\me\\AppData\\Roaming' }, 'C:\\Users\\me\\AppData\\Roaming\\sops\\age\\keys.txt'],
    ['win32', {}, undefined],
  ] as const)('%s %j', (platform, env, expected) => {
    expect(defaultAgeKeyFile({ platform, env, homedir: '/home/me' })).toBe(expected);
  });
});

describe('discoverAgeIdentities', () => {
  test('loads every source, --identity first, and describes each without key material', async () => {
    const sources = fakeSources(
      { SOPS_AGE_KEY: `${A}\n${B}`, SOPS_AGE_KEY_FILE: '/keys/team.txt', XDG_CONFIG_HOME: '/home/me/.config' },
      { '/keys/explicit.txt': `${C}\n`, '/keys/team.txt': `# team\n${B}\n`, '/home/me/.config/sops/age/keys.txt': `${A}\n` },
    );
    const found = await discoverAgeIdentities(sources, { identityFiles: ['/keys/explicit.txt'] });
    expect(found.identities).toHaveLength(5);
    expect(found.identities[0]!.recipient).toBe(recipientOfIdentity(C));
    expect(found.tried).toEqual([
      '--identity /keys/explicit.txt (1 identity)',
      'SOPS_AGE_KEY (2 identities)',
      'SOPS_AGE_KEY_FILE=/keys/team.txt (1 identity)',
      'default key file ~/.config/sops/age/keys.txt (1 identity)',
      '~/.ssh/id_ed25519, ~/.ssh/id_rsa (not found)',
    ]);
    for (const line of found.tried) expect(line).not.toMatch(/AGE-SECRET-KEY/);
    expect(found.identitiesForRecipient).toBeUndefined();
  });

  test('a missing default key file is described, not an error', async () => {
    const found = await discoverAgeIdentities(fakeSources({}));
    expect(found.identities).toEqual([]);
    expect(found.tried).toEqual(['default key file ~/.config/sops/age/keys.txt (not found)', '~/.ssh/id_ed25519, ~/.ssh/id_rsa (not found)']);
  });

  test('macOS default path', async () => {
    const sources = fakeSources({}, { '/home/me/Library/Application Support/sops/age/keys.txt': A }, {}, 'darwin');
    const found = await discoverAgeIdentities(sources);
    expect(recipients(found.identities)).toEqual([A_RECIPIENT]);
  });

  test('an unreadable --identity file is KEY_FILE_UNREADABLE with a hint', async () => {
    const error = await discoverAgeIdentities(fakeSources({}), { identityFiles: ['/nope.txt'] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CofferError);
    expect((error as CofferError).code).toBe('KEY_FILE_UNREADABLE');
    expect((error as CofferError).message).toContain('/nope.txt');
    expect((error as CofferError).hints.join(' ')).toContain('--identity');
  });

  test('a malformed --identity file names the line, not its content', async () => {
    const error = (await discoverAgeIdentities(fakeSources({}, { '/k.txt': `${A}\nAGE-SECRET-KEY-1SECRETSTUFF\n` }), {
      identityFiles: ['/k.txt'],
    }).catch((caught: unknown) => caught)) as CofferError;
    expect(error.code).toBe('KEY_FILE_UNREADABLE');
    expect(error.message).toContain('line 2');
    expect(error.message).not.toContain('SECRETSTUFF');
  });

  test('a missing SOPS_AGE_KEY_FILE is tolerated when other identities exist, as in SOPS', async () => {
    const found = await discoverAgeIdentities(fakeSources({ SOPS_AGE_KEY: A, SOPS_AGE_KEY_FILE: '/gone.txt' }));
    expect(found.identities).toHaveLength(1);
    expect(found.tried).toContain('SOPS_AGE_KEY_FILE=/gone.txt (not found)');
  });

  test('a missing SOPS_AGE_KEY_FILE with nothing else is KEY_FILE_UNREADABLE', async () => {
    const error = (await discoverAgeIdentities(fakeSources({ SOPS_AGE_KEY_FILE: '/gone.txt' })).catch((caught: unknown) => caught)) as CofferError;
    expect(error.code).toBe('KEY_FILE_UNREADABLE');
    expect(error.message).toContain('/gone.txt');
  });

  test('SOPS_AGE_KEY_CMD runs lazily per recipient with SOPS_AGE_RECIPIENT set', async () => {
    const sources = fakeSources({ SOPS_AGE_KEY_CMD: 'get-key' }, {}, {
      'get-key': (env) => (env['SOPS_AGE_RECIPIENT'] === A_RECIPIENT ? `# from vault\n${A}\n` : ''),
    });
    const found = await discoverAgeIdentities(sources);
    expect(sources.commandRuns).toEqual([]);
    expect(recipients(await found.identitiesForRecipient!(A_RECIPIENT))).toEqual([A_RECIPIENT]);
    await found.identitiesForRecipient!(A_RECIPIENT);
    expect(sources.commandRuns).toEqual([`get-key ${A_RECIPIENT}`]);
    expect(found.tried).toContain(`SOPS_AGE_KEY_CMD for ${A_RECIPIENT} (1 identity)`);
  });

  test('a failing SOPS_AGE_KEY_CMD is described, not thrown', async () => {
    const found = await discoverAgeIdentities(fakeSources({ SOPS_AGE_KEY_CMD: 'missing' }));
    expect(await found.identitiesForRecipient!(A_RECIPIENT)).toEqual([]);
    expect(found.tried).toContain(`SOPS_AGE_KEY_CMD for ${A_RECIPIENT} (failed: exit 127)`);
  });

  test('a passphrase-protected key file needs a prompt', async () => {
    const encrypted = await wrapForAgeRecipient(Buffer.from(`${A}\n`), { passphrase: 'pw', workFactor: 10 });
    const files = { '/k.age': encrypted };
    const withPrompt = { ...fakeSources({}, files), readPassphrase: async () => 'pw' };
    expect(recipients((await discoverAgeIdentities(withPrompt, { identityFiles: ['/k.age'] })).identities)).toEqual([A_RECIPIENT]);
    const wrong = { ...fakeSources({}, files), readPassphrase: async () => 'nope' };
    await expect(discoverAgeIdentities(wrong, { identityFiles: ['/k.age'] })).rejects.toThrow(/wrong passphrase/);
    await expect(discoverAgeIdentities(fakeSources({}, files), { identityFiles: ['/k.age'] })).rejects.toThrow(/no passphrase prompt/);
  });
});

describe('nodeKeySources (real files and shell)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-identities-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads SOPS_AGE_KEY_FILE, runs SOPS_AGE_KEY_CMD through the shell, reads the XDG default file', async () => {
    const keyFile = join(dir, 'keys.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    await writeFile(join(dir, 'cmd-key.txt'), `${B}\n`);
    const real = nodeKeySources();
    const sources: KeySources = {
      ...real,
      env: {
        PATH: process.env['PATH'],
        SOPS_AGE_KEY_FILE: keyFile,
        SOPS_AGE_KEY_CMD: `test "$SOPS_AGE_RECIPIENT" = "${A_RECIPIENT}" && cat '${join(dir, 'cmd-key.txt')}'`,
        XDG_CONFIG_HOME: join(dir, 'xdg'),
      },
      platform: 'linux',
      homedir: join(dir, 'home'),
    };
    const found = await discoverAgeIdentities(sources);
    expect(found.identities).toHaveLength(1);
    expect(found.tried).toEqual([
      `SOPS_AGE_KEY_FILE=${keyFile} (1 identity)`,
      'SOPS_AGE_KEY_CMD (run for each recipient)',
      `default key file ${join(dir, 'xdg', 'sops', 'age', 'keys.txt')} (not found)`,
      '~/.ssh/id_ed25519, ~/.ssh/id_rsa (not found)',
    ]);
    expect(await found.identitiesForRecipient!(A_RECIPIENT)).toHaveLength(1);
    expect(await found.identitiesForRecipient!('age1other')).toHaveLength(0);
  });
});

describe('SSH keys as identities', () => {
  let dir: string;
  let ed25519: { key: string; pub: string };
  let rsa: { key: string; pub: string };
  let locked: string;
  const keygen = async (name: string, ...args: string[]) => {
    const path = join(dir, name);
    execFileSync('ssh-keygen', ['-q', ...args, '-C', name, '-f', path], { stdio: 'ignore' });
    return { key: await readFile(path, 'utf8'), pub: (await readFile(`${path}.pub`, 'utf8')).trim() };
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-ssh-identities-'));
    ed25519 = await keygen('ed', '-t', 'ed25519', '-N', '');
    rsa = await keygen('rsa', '-t', 'rsa', '-b', '2048', '-N', '');
    locked = (await keygen('locked', '-t', 'ed25519', '-N', 'secret words')).key;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const bare = (pub: string) => pub.split(' ').slice(0, 2).join(' ');

  test('SOPS_AGE_SSH_PRIVATE_KEY_FILE, ~/.ssh/id_ed25519 and ~/.ssh/id_rsa, after the age sources, in SOPS order', async () => {
    const sources = fakeSources(
      { SOPS_AGE_KEY: A, SOPS_AGE_SSH_PRIVATE_KEY_FILE: '/keys/deploy' },
      { '/keys/deploy': rsa.key, '/home/me/.ssh/id_ed25519': ed25519.key, '/home/me/.ssh/id_rsa': rsa.key },
    );
    const found = await discoverAgeIdentities(sources);
    expect(recipients(found.identities)).toEqual([A_RECIPIENT, bare(rsa.pub), bare(ed25519.pub), bare(rsa.pub)]);
    expect(found.tried).toEqual([
      'SOPS_AGE_KEY (1 identity)',
      'default key file ~/.config/sops/age/keys.txt (not found)',
      'SOPS_AGE_SSH_PRIVATE_KEY_FILE=/keys/deploy (ssh-rsa identity)',
      '~/.ssh/id_ed25519 (ssh-ed25519 identity)',
      '~/.ssh/id_rsa (ssh-rsa identity)',
    ]);
    for (const line of found.tried) expect(line).not.toMatch(/PRIVATE KEY|AAAA/);
  });

  test('an SSH key alone is enough to decrypt', async () => {
    const found = await discoverAgeIdentities(fakeSources({}, { '/home/me/.ssh/id_ed25519': ed25519.key }));
    const dataKey = Buffer.alloc(32, 7);
    const wrapped = await wrapForAgeRecipient(dataKey, ed25519.pub);
    expect(Buffer.from((await unwrapWithAgeIdentities(wrapped, found.identities))!).equals(dataKey)).toBe(true);
  });

  test('a passphrase-protected ~/.ssh key is noted in tried, never an error', async () => {
    const found = await discoverAgeIdentities(fakeSources({ SOPS_AGE_KEY: A }, { '/home/me/.ssh/id_ed25519': locked }));
    expect(found.identities).toHaveLength(1);
    expect(found.tried).toContain('~/.ssh/id_ed25519 (passphrase-protected; coffer needs an unencrypted copy)');
    expect(found.tried).toContain('~/.ssh/id_rsa (not found)');
    // nothing else: still no error here (the unwrap reports NO_MATCHING_IDENTITY with this list)
    const alone = await discoverAgeIdentities(fakeSources({}, { '/home/me/.ssh/id_ed25519': locked }));
    expect(alone.identities).toEqual([]);
  });

  test('a passphrase-protected SOPS_AGE_SSH_PRIVATE_KEY_FILE with nothing else is UNSUPPORTED_KEY_SOURCE saying what to do', async () => {
    const error = (await discoverAgeIdentities(fakeSources({ SOPS_AGE_SSH_PRIVATE_KEY_FILE: '/keys/locked' }, { '/keys/locked': locked })).catch((caught: unknown) => caught)) as CofferError;
    expect(error).toBeInstanceOf(CofferError);
    expect(error.code).toBe('UNSUPPORTED_KEY_SOURCE');
    expect(error.message).toBe('no age identity could be loaded: SOPS_AGE_SSH_PRIVATE_KEY_FILE=/keys/locked: passphrase-protected; coffer needs an unencrypted copy');
    expect(error.hints.join(' ')).toContain("ssh-keygen -p -N ''");
    expect(error.hints.join(' ')).toContain('coffer keygen');
    expect(JSON.stringify(error.toJSON())).not.toContain(locked.split('\n')[1]!);
  });

  test('a missing or malformed SOPS_AGE_SSH_PRIVATE_KEY_FILE is KEY_FILE_UNREADABLE when nothing else loads', async () => {
    for (const [files, reason] of [
      [{}, 'not found'],
      [{ '/keys/deploy': ed25519.pub }, 'it is an ssh public key, not the private key'],
      [{ '/keys/deploy': A }, 'not an ssh private key'],
    ] as const) {
      const error = (await discoverAgeIdentities(fakeSources({ SOPS_AGE_SSH_PRIVATE_KEY_FILE: '/keys/deploy' }, files)).catch((caught: unknown) => caught)) as CofferError;
      expect(error.code).toBe('KEY_FILE_UNREADABLE');
      expect(error.message).toContain(`SOPS_AGE_SSH_PRIVATE_KEY_FILE=/keys/deploy: ${reason}`);
    }
  });

  test('SOPS_AGE_SSH_PRIVATE_KEY_CMD runs lazily per recipient with SOPS_AGE_RECIPIENT set', async () => {
    const sources = fakeSources({ SOPS_AGE_SSH_PRIVATE_KEY_CMD: 'op read ssh' }, {}, {
      'op read ssh': (env) => (env['SOPS_AGE_RECIPIENT'] === ed25519.pub ? ed25519.key : locked),
    });
    const found = await discoverAgeIdentities(sources);
    expect(found.tried).toContain('SOPS_AGE_SSH_PRIVATE_KEY_CMD (run for each recipient)');
    expect(sources.commandRuns).toEqual([]);
    expect(recipients(await found.identitiesForRecipient!(ed25519.pub))).toEqual([bare(ed25519.pub)]);
    expect(await found.identitiesForRecipient!(rsa.pub)).toEqual([]);
    await found.identitiesForRecipient!(ed25519.pub);
    expect(sources.commandRuns).toHaveLength(2);
    expect(found.tried).toContain(`SOPS_AGE_SSH_PRIVATE_KEY_CMD for ${ed25519.pub} (ssh-ed25519 identity)`);
    expect(found.tried).toContain(`SOPS_AGE_SSH_PRIVATE_KEY_CMD for ${rsa.pub} (passphrase-protected; coffer needs an unencrypted copy)`);
  });

  test('both commands run for a recipient when both are set', async () => {
    const sources = fakeSources({ SOPS_AGE_KEY_CMD: 'age-key', SOPS_AGE_SSH_PRIVATE_KEY_CMD: 'ssh-key' }, {}, { 'age-key': () => A, 'ssh-key': () => rsa.key });
    const found = await discoverAgeIdentities(sources);
    expect(recipients(await found.identitiesForRecipient!('age1x'))).toEqual([A_RECIPIENT, bare(rsa.pub)]);
  });

  test('--identity takes an SSH private key too; a passphrase-protected one is UNSUPPORTED_KEY_SOURCE', async () => {
    const found = await discoverAgeIdentities(fakeSources({}, { '/k/id': ed25519.key }), { identityFiles: ['/k/id'] });
    expect(recipients(found.identities)).toEqual([bare(ed25519.pub)]);
    expect(found.tried[0]).toBe('--identity /k/id (ssh-ed25519 identity)');
    const error = (await discoverAgeIdentities(fakeSources({}, { '/k/locked': locked }), { identityFiles: ['/k/locked'] }).catch((caught: unknown) => caught)) as CofferError;
    expect(error.code).toBe('UNSUPPORTED_KEY_SOURCE');
    expect(error.message).toBe('identity file /k/locked: the ssh key is passphrase-protected; coffer needs an unencrypted copy');
  });

  test('real files: ~/.ssh under HOME, through nodeKeySources', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    await writeFile(join(home, '.ssh', 'id_rsa'), rsa.key, { mode: 0o600 });
    const found = await discoverAgeIdentities({ ...nodeKeySources(), env: { XDG_CONFIG_HOME: join(home, '.config') }, platform: 'linux', homedir: home });
    expect(recipients(found.identities)).toEqual([bare(rsa.pub)]);
    expect(found.tried).toEqual([`default key file ~/.config/sops/age/keys.txt (not found)`, '~/.ssh/id_rsa (ssh-rsa identity)', '~/.ssh/id_ed25519 (not found)']);
  });
});
