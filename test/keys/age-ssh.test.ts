// SSH keys as age recipients and identities, against keys made by the real ssh-keygen and files
// made and read by the real age CLI.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { dearmorAgeFile, parseAgeHeader } from '../../src/keys/age-file.js';
import { ed25519ToX25519, parseSshIdentity, sshTag } from '../../src/keys/age-ssh.js';
import { AgeIdentity, generateAgeIdentity, parseAgeRecipient, unwrapWithAgeIdentities, wrapForAgeRecipient } from '../../src/keys/age.js';
import { parseSshPublicKey } from '../../src/keys/ssh-key.js';
import { parseSshPrivateKey } from '../../src/keys/ssh-private-key.js';

interface SshKey {
  privatePath: string;
  publicLine: string;
  identity: AgeIdentity;
}

let dir: string;
let ed25519: SshKey;
let rsa: SshKey;
let other: SshKey;

function keygen(name: string, ...args: string[]): SshKey {
  const privatePath = join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@test`, '-f', privatePath], { stdio: 'ignore' });
  return { privatePath, publicLine: execFileSync('cat', [`${privatePath}.pub`], { encoding: 'utf8' }).trim(), identity: undefined as unknown as AgeIdentity };
}

async function loaded(key: SshKey): Promise<SshKey> {
  const result = parseSshIdentity(await readFile(key.privatePath));
  if (!('identity' in result)) throw new Error(result.problem);
  return { ...key, identity: result.identity };
}

const hex = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : undefined);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-age-ssh-'));
  ed25519 = await loaded(keygen('ed', '-t', 'ed25519'));
  rsa = await loaded(keygen('rsa', '-t', 'rsa', '-b', '2048'));
  other = await loaded(keygen('other', '-t', 'ed25519'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('interop with ssh-keygen and the age CLI', () => {
  test.each(['ed25519', 'rsa'] as const)('a data key coffer wraps for an ssh-%s recipient decrypts with `age -d -i <ssh key>`', async (which) => {
    const key = which === 'ed25519' ? ed25519 : rsa;
    for (const size of [32, 33]) {
      const dataKey = randomBytes(size);
      const armored = await wrapForAgeRecipient(dataKey, key.publicLine);
      const plaintext = execFileSync('age', ['-d', '-i', key.privatePath], { input: armored });
      expect(hex(plaintext)).toBe(hex(dataKey));
      // and coffer opens its own
      expect(hex(await unwrapWithAgeIdentities(armored, [key.identity]))).toBe(hex(dataKey));
    }
  });

  test.each(['ed25519', 'rsa'] as const)('a file `age -R <ssh-%s .pub>` made unwraps with coffer, and not with another key', async (which) => {
    const key = which === 'ed25519' ? ed25519 : rsa;
    const dataKey = randomBytes(32);
    const armored = execFileSync('age', ['-R', `${key.privatePath}.pub`, '-a'], { input: dataKey }).toString();
    expect(hex(await unwrapWithAgeIdentities(armored, [other.identity, key.identity]))).toBe(hex(dataKey));
    expect(await unwrapWithAgeIdentities(armored, [other.identity])).toBeUndefined();
  });

  test('a file for an age1, an ssh-ed25519 and an ssh-rsa recipient opens with each of them', async () => {
    const age = await generateAgeIdentity();
    const recipients = join(dir, 'recipients.txt');
    await writeFile(recipients, `${age.recipient}\n${ed25519.publicLine}\n${rsa.publicLine}\n`);
    const dataKey = randomBytes(32);
    const armored = execFileSync('age', ['-R', recipients, '-a'], { input: dataKey }).toString();
    expect(parseAgeHeader(dearmorAgeFile(armored)).stanzas.map((stanza) => stanza.args[0])).toEqual(['X25519', 'ssh-ed25519', 'ssh-rsa']);
    for (const identity of [AgeIdentity.parse(age.identity)!, ed25519.identity, rsa.identity]) {
      expect(hex(await unwrapWithAgeIdentities(armored, [identity]))).toBe(hex(dataKey));
    }
  });

  test('stanzas carry the tag age computes: SHA-256 of the wire key, 4 bytes', async () => {
    const armored = await wrapForAgeRecipient(randomBytes(32), ed25519.publicLine);
    const [stanza] = parseAgeHeader(dearmorAgeFile(armored)).stanzas;
    const wire = Buffer.from(ed25519.publicLine.split(' ')[1]!, 'base64');
    expect(stanza!.args[0]).toBe('ssh-ed25519');
    expect(stanza!.args[1]).toBe(createHash('sha256').update(wire).digest().subarray(0, 4).toString('base64').replace(/=+$/, ''));
    expect(stanza!.args[1]).toBe(sshTag(wire));
    expect(stanza!.args).toHaveLength(3);
  });

  test('the Ed25519 -> X25519 map agrees with the X25519 key of the same secret', async () => {
    // an Ed25519 key's secret scalar is SHA-512(seed)[:32]: its X25519 public key must be the mapped point
    const parsed = parseSshPrivateKey(await readFile(ed25519.privatePath));
    if (!('key' in parsed) || parsed.key.type !== 'ssh-ed25519') throw new Error('not parsed');
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const scalar = createHash('sha512').update(parsed.key.seed).digest().subarray(0, 32);
    const x25519 = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), scalar]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(x25519).export({ format: 'der', type: 'spki' });
    expect(hex(ed25519ToX25519(parsed.key.publicKey.ed25519!))).toBe(hex(spki.subarray(spki.length - 32)));
  });
});

describe('SSH identities', () => {
  test('name their public key, never the private one', async () => {
    expect(ed25519.identity.kind).toBe('ssh-ed25519');
    expect(ed25519.identity.recipient).toBe(ed25519.publicLine.split(' ').slice(0, 2).join(' '));
    expect(rsa.identity.kind).toBe('ssh-rsa');
    const privateText = await readFile(ed25519.privatePath, 'utf8');
    const body = privateText.split('\n')[2]!;
    for (const shown of [String(ed25519.identity), inspect(ed25519.identity), JSON.stringify(ed25519.identity)]) {
      expect(shown).toContain('ssh-ed25519');
      expect(shown).not.toContain(body);
    }
  });

  test('PEM RSA keys (ssh-keygen -m PEM) load too', async () => {
    const pem = keygen('rsa-pem', '-t', 'rsa', '-b', '2048', '-m', 'PEM');
    const text = await readFile(pem.privatePath, 'utf8');
    expect(text).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    const key = await loaded(pem);
    expect(key.identity.recipient).toBe(pem.publicLine.split(' ').slice(0, 2).join(' '));
    const dataKey = randomBytes(32);
    const armored = execFileSync('age', ['-R', `${pem.privatePath}.pub`, '-a'], { input: dataKey }).toString();
    expect(hex(await unwrapWithAgeIdentities(armored, [key.identity]))).toBe(hex(dataKey));
  });

  test('a passphrase-protected key is reported as such, never decrypted or thrown', async () => {
    for (const type of ['ed25519', 'rsa']) {
      const path = join(dir, `locked-${type}`);
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', 'correct horse', '-f', path], { stdio: 'ignore' });
      const result = parseSshIdentity(await readFile(path));
      expect(result).toEqual({ problem: 'the ssh private key is passphrase-protected', passphrase: true });
    }
    const pem = join(dir, 'locked-pem');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', 'correct horse', '-f', pem], { stdio: 'ignore' });
    expect(parseSshIdentity(await readFile(pem))).toMatchObject({ passphrase: true });
  });

  test.each([
    ['a public key', async () => readFile(`${ed25519.privatePath}.pub`), /public key, not the private key/],
    ['an age key file', async () => Buffer.from((await generateAgeIdentity()).identity), /not an ssh private key/],
    ['a truncated key', async () => truncated(await readFile(ed25519.privatePath, 'utf8')), /truncated|malformed|not an openssh/],
    ['an ecdsa key', async () => readFile(keygen('ecdsa', '-t', 'ecdsa').privatePath), /ecdsa.*cannot be age identities|cannot be age recipients/],
  ])('%s is a problem, not a crash', async (_name, bytes, problem) => {
    const result = parseSshIdentity(await bytes());
    expect('problem' in result && result.problem).toMatch(problem);
  });
});

/** An OpenSSH key whose base64 body lost its second half. */
function truncated(text: string): Buffer {
  const lines = text.trim().split('\n');
  const body = lines.slice(1, -1).join('');
  return Buffer.from(`${lines[0]}\n${body.slice(0, Math.floor(body.length / 2 / 4) * 4)}\n${lines.at(-1)}\n`);
}

describe('SSH recipients', () => {
  test('keep their text as given, trimmed, comment included', () => {
    const parsed = parseAgeRecipient(`  ${ed25519.publicLine}  `, 1);
    expect(parsed).toMatchObject({ kind: 'ssh-ed25519', recipient: ed25519.publicLine });
    expect(parseAgeRecipient(rsa.publicLine).kind).toBe('ssh-rsa');
    const bare = ed25519.publicLine.split(' ').slice(0, 2).join(' ');
    expect(parseAgeRecipient(bare).recipient).toBe(bare);
  });

  const error = (text: string, position?: number): CofferError => {
    try {
      parseAgeRecipient(text, position);
    } catch (caught) {
      if (caught instanceof CofferError) return caught;
      throw caught;
    }
    throw new Error('accepted');
  };

  test.each([
    ['bad base64', () => 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5!!!! me', 'INVALID_RECIPIENT', /not valid base64/],
    ['base64 cut mid-character', () => ed25519.publicLine.split(' ').slice(0, 2).join(' ').slice(0, -1), 'INVALID_RECIPIENT', /not valid base64/],
    ['no key data', () => 'ssh-ed25519', 'INVALID_RECIPIENT', /missing/],
    ['wrong type word', () => `ssh-rsa ${ed25519.publicLine.split(' ')[1]}`, 'INVALID_RECIPIENT', /holds an ssh-ed25519 key, not ssh-rsa/],
    ['truncated', () => `ssh-ed25519 ${Buffer.from(ed25519.publicLine.split(' ')[1]!, 'base64').subarray(0, 30).toString('base64')}`, 'INVALID_RECIPIENT', /truncated/],
    ['trailing bytes', () => `ssh-ed25519 ${Buffer.concat([Buffer.from(ed25519.publicLine.split(' ')[1]!, 'base64'), Buffer.from([0])]).toString('base64')}`, 'INVALID_RECIPIENT', /bad length/],
    ['a 1024-bit RSA key', () => keygen('small', '-t', 'rsa', '-b', '1024').publicLine, 'INVALID_RECIPIENT', /1024 bits; age needs at least 2048/],
    ['an ecdsa key', () => keygen('ecdsa-pub', '-t', 'ecdsa').publicLine, 'UNSUPPORTED_KEY_SOURCE', /ecdsa-sha2-nistp256 keys cannot be age recipients/],
    ['ssh-dss', () => 'ssh-dss AAAAB3NzaC1kc3MAAACBAP', 'UNSUPPORTED_KEY_SOURCE', /ssh-dss keys cannot be age recipients/],
  ])('%s: %s, naming the position, never the text', (_name, text, code, message) => {
    const line = text();
    const caught = error(line, 3);
    expect(caught.code).toBe(code);
    expect(caught.message).toMatch(/^age recipient #3 /);
    expect(caught.message).toMatch(message);
    expect(caught.data).toEqual({ position: 3 });
    const data = line.split(' ')[1];
    if (data && data.length > 8) expect(caught.message).not.toContain(data);
  });

  test('a point that is not on the curve is refused when wrapping', async () => {
    // y = 2 has no x on edwards25519
    const wire = Buffer.concat([Buffer.from('0000000b', 'hex'), Buffer.from('ssh-ed25519'), Buffer.from('00000020', 'hex'), Buffer.from([2, ...new Array(31).fill(0)])]);
    expect(ed25519ToX25519(wire.subarray(-32))).toBeUndefined();
    const recipient = `ssh-ed25519 ${wire.toString('base64')}`;
    expect(parseSshPublicKey(recipient)).toHaveProperty('key');
    await expect(wrapForAgeRecipient(randomBytes(32), recipient, { position: 2 })).rejects.toMatchObject({ code: 'INVALID_RECIPIENT', message: expect.stringMatching(/^age recipient #2 is not valid/) });
  });
});
