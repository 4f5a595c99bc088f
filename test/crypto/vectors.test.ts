// Runs every file in test/vectors: a header (expect, key, aad, type, plaintext) and an ENC[...] body.
// Values come from the SOPS 3.8.1 age fixture, so these are known answers, not round trips.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decryptValue, encryptValue } from '../../src/crypto/aes-gcm.js';
import { CofferError } from '../../src/errors.js';
import { parseEncryptedValue } from '../../src/format/encrypted-value.js';

const VECTOR_DIR = join(import.meta.dirname, '..', 'vectors');
const HEADERS = new Set(['expect', 'key', 'aad', 'type', 'plaintext']);
const EXPECTATIONS = new Set(['success', 'decryption failed', 'malformed']);

interface Vector {
  name: string;
  headers: Map<string, string>;
  body: string;
}

function readVector(name: string): Vector {
  const text = readFileSync(join(VECTOR_DIR, name), 'utf8');
  const [head = '', body = ''] = text.split('\n\n');
  const headers = new Map<string, string>();
  for (const line of head.split('\n')) {
    const at = line.indexOf(': ');
    const field = line.slice(0, at);
    if (!HEADERS.has(field)) throw new Error(`${name}: unknown header "${field}"`);
    headers.set(field, line.slice(at + 2));
  }
  const expectation = headers.get('expect') ?? '';
  if (!EXPECTATIONS.has(expectation)) throw new Error(`${name}: unknown expectation "${expectation}"`);
  return { name, headers, body: body.trim() };
}

const vectors = readdirSync(VECTOR_DIR)
  .filter((name) => name.endsWith('.txt'))
  .sort()
  .map(readVector);

describe('known-answer vectors', () => {
  it('has vectors of every expectation', () => {
    const seen = new Set(vectors.map((vector) => vector.headers.get('expect')));
    expect([...seen].sort()).toEqual([...EXPECTATIONS].sort());
  });

  it.each(vectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    const key = Buffer.from(vector.headers.get('key') ?? '', 'hex');
    const aad = vector.headers.get('aad') ?? '';
    const expectation = vector.headers.get('expect');
    const attempt = () => {
      const parsed = parseEncryptedValue(vector.body, vector.name);
      return { parsed, plaintext: decryptValue(parsed, key, aad, vector.name) };
    };
    if (expectation === 'success') {
      const { parsed, plaintext } = attempt();
      expect(parsed.type).toBe(vector.headers.get('type'));
      expect(Buffer.from(plaintext).toString('utf8')).toBe(vector.headers.get('plaintext'));
      // Encrypting again with the same IV reproduces SOPS's ciphertext byte for byte.
      expect(encryptValue(plaintext, parsed.type, key, aad, parsed.iv)).toBe(vector.body);
      return;
    }
    const code = expectation === 'malformed' ? 'MALFORMED_ENCRYPTED_VALUE' : 'DECRYPTION_FAILED';
    expect(attempt).toThrow(CofferError);
    try {
      attempt();
    } catch (error) {
      expect((error as CofferError).code).toBe(code);
      expect((error as CofferError).exitCode).toBe(3);
    }
  });
});

describe('fresh encryption', () => {
  it('draws a new 32-byte IV for every value', () => {
    const key = Buffer.alloc(32, 7);
    const first = parseEncryptedValue(encryptValue(Buffer.from('same'), 'str', key, 'a:'), 'a');
    const second = parseEncryptedValue(encryptValue(Buffer.from('same'), 'str', key, 'a:'), 'a');
    expect(first.iv).toHaveLength(32);
    expect(Buffer.from(first.iv).equals(Buffer.from(second.iv))).toBe(false);
    expect(Buffer.from(first.data).equals(Buffer.from(second.data))).toBe(false);
  });
});
