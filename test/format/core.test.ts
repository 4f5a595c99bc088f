// The pure pieces of the format: value serialisation, key paths, selection rules, metadata, MAC.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { additionalDataOf, formatKeyPath, parseKeyPath, resolveKeyPath } from '../../src/format/key-path.js';
import { MacAccumulator } from '../../src/format/mac.js';
import { FORMAT_VERSION, formatTimestamp, normaliseTimestamp, parseMetadata, serializeMetadata } from '../../src/format/metadata.js';
import { createLeafSelector } from '../../src/format/selection.js';
import { type Leaf, type PlainMap, TimeValue } from '../../src/format/tree.js';
import { decodePlaintext, encodePlaintext, formatFloat } from '../../src/format/values.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CofferError);
    expect((error as CofferError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('value serialisation', () => {
  it.each([
    [3.14, '3.14'],
    [3, '3'],
    [1e21, '1000000000000000000000'],
    [1e-7, '0.0000001'],
    [-2.5e-10, '-0.00000000025'],
    [1.5e300, `15${'0'.repeat(299)}`],
    [123456789.125, '123456789.125'],
  ])('formats %d in Go fixed notation as %s', (value, expected) => {
    expect(formatFloat(value)).toBe(expected);
    expect(Number(formatFloat(value))).toBe(value);
  });

  it('round-trips any float through its fixed notation', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => Object.is(Number(formatFloat(value)), value) || (value === 0 && formatFloat(value) === '-0')));
  });

  it('writes the types as SOPS does', () => {
    expect(text(encodePlaintext(true))).toBe('True');
    expect(text(encodePlaintext(false))).toBe('False');
    expect(text(encodePlaintext(-42n))).toBe('-42');
    expect(text(encodePlaintext(new TimeValue('2024-01-02T03:04:05Z')))).toBe('2024-01-02T03:04:05Z');
    expectCode(() => encodePlaintext(2n ** 64n), 'UNSUPPORTED_VALUE');
  });

  it('reads back every type, and Go ParseBool spellings', () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    expect(decodePlaintext(bytes('7'), 'int')).toBe(7n);
    expect(decodePlaintext(bytes('3'), 'float')).toBe(3);
    expect(decodePlaintext(bytes('T'), 'bool')).toBe(true);
    expect(decodePlaintext(bytes('FALSE'), 'bool')).toBe(false);
    expect(decodePlaintext(bytes('yes'), 'bool')).toBeUndefined();
    expect(decodePlaintext(bytes('x1'), 'int')).toBeUndefined();
    expect(decodePlaintext(bytes('2024-01-02T03:04:05Z'), 'time')).toBeInstanceOf(TimeValue);
    expect(decodePlaintext(new Uint8Array([0xff, 0xfe]), 'str')).toEqual(new Uint8Array([0xff, 0xfe]));
  });
});

describe('key paths', () => {
  it('forms the AAD from map keys only', () => {
    expect(additionalDataOf(['complex', 'value'])).toBe('complex:value:');
    expect(additionalDataOf([])).toBe(':');
  });

  it('parses the sops bracket syntax', () => {
    expect(parseKeyPath('["a"]["b"][0]')).toEqual(['a', 'b', 0]);
    expect(parseKeyPath("['a.b'][12]")).toEqual(['a.b', 12]);
  });

  it('parses dotted paths with escapes and leaves digits to the document', () => {
    expect(parseKeyPath('db.password')).toEqual(['db', 'password']);
    expect(parseKeyPath('a\\.b.c')).toEqual(['a.b', 'c']);
    const path = parseKeyPath('servers.0.host');
    expect(resolveKeyPath(path, (prefix) => prefix.length === 1)).toEqual(['servers', 0, 'host']);
    expect(resolveKeyPath(path, () => false)).toEqual(['servers', '0', 'host']);
    expect(formatKeyPath(parseKeyPath('a\\.b.c'))).toBe('a\\.b.c');
  });

  it.each(['', 'a..b', '.a', '["a"', '[x]', 'a.'])('rejects %j with INVALID_KEY_PATH', (input) => {
    expectCode(() => parseKeyPath(input), 'INVALID_KEY_PATH');
  });
});

describe('selection rules', () => {
  const leaf = (keyPath: string[], extra: Partial<Leaf> = {}): Leaf => ({ keyPath, value: 'v', isComment: false, commentStack: [], ...extra });

  it('lets any ancestor key decide the suffix rules', () => {
    const selector = createLeafSelector({ kind: 'unencrypted_suffix', pattern: '_unencrypted' });
    expect(selector(leaf(['db', 'password']))).toBe(true);
    expect(selector(leaf(['db_unencrypted', 'host']))).toBe(false);
    const only = createLeafSelector({ kind: 'encrypted_suffix', pattern: '_secret' });
    expect(only(leaf(['api_secret', 'x']))).toBe(true);
    expect(only(leaf(['api', 'x']))).toBe(false);
  });

  it('matches regex rules unanchored', () => {
    const selector = createLeafSelector({ kind: 'encrypted_regex', pattern: '^(data|stringData)$' });
    expect(selector(leaf(['data', 'token']))).toBe(true);
    expect(selector(leaf(['metadata', 'name']))).toBe(false);
    const clear = createLeafSelector({ kind: 'unencrypted_regex', pattern: 'public' });
    expect(clear(leaf(['my_public_key']))).toBe(false);
  });

  it('uses the active comment stack for comment rules, keeping the marker comment clear', () => {
    const selector = createLeafSelector({ kind: 'encrypted_comment_regex', pattern: 'sops:enc' });
    expect(selector(leaf(['a'], { commentStack: [' sops:enc'] }))).toBe(true);
    expect(selector(leaf(['a']))).toBe(false);
    expect(selector(leaf([], { isComment: true, value: ' sops:enc', commentStack: [' sops:enc'] }))).toBe(false);
  });
});

describe('metadata', () => {
  const age = new Map([['age', [new Map([['recipient', 'age1xyz'], ['enc', 'ARMOR']])]]]) as PlainMap;
  const base = (extra: [string, unknown][] = []): PlainMap =>
    new Map([...age, ['lastmodified', '2024-03-25T22:08:10Z'], ['mac', 'ENC[...]'], ['version', '3.8.1'], ...extra] as [string, never][]);

  it('reads a single key group and defaults the rule', () => {
    const metadata = parseMetadata(base(), 'f.yaml');
    expect(metadata.keyGroups).toHaveLength(1);
    expect(metadata.storedSelectionRule).toBeUndefined();
    expect(metadata.shamirThreshold).toBe(0);
  });

  it('reads flattened text values (dotenv, INI)', () => {
    const metadata = parseMetadata(base([['shamir_threshold', '2'], ['mac_only_encrypted', 'true']]), 'f.env');
    expect(metadata.shamirThreshold).toBe(2);
    expect(metadata.macOnlyEncrypted).toBe(true);
  });

  it('rejects two selection rules, a missing version and a foreign major version', () => {
    expectCode(() => parseMetadata(base([['encrypted_regex', 'a'], ['unencrypted_suffix', '_u']]), 'f'), 'METADATA_INVALID');
    const noVersion = base();
    noVersion.delete('version');
    expectCode(() => parseMetadata(noVersion, 'f'), 'METADATA_INVALID');
    expectCode(() => parseMetadata(base([['version', '4.0.0']]), 'f'), 'UNSUPPORTED_VERSION');
    expectCode(() => parseMetadata(undefined, 'f'), 'NOT_ENCRYPTED');
    expectCode(() => parseMetadata(new Map([['version', '3.8.1'], ['lastmodified', '2024-03-25T22:08:10Z']]), 'f'), 'METADATA_INVALID');
  });

  it('writes the 3.13 layout: alphabetical, empty lists omitted', () => {
    const metadata = parseMetadata(base([['kms', []], ['unencrypted_suffix', '_unencrypted']]), 'f');
    const written = serializeMetadata({ ...metadata, version: FORMAT_VERSION });
    expect([...written.keys()]).toEqual(['age', 'lastmodified', 'mac', 'unencrypted_suffix', 'version']);
    expect([...((written.get('age') as PlainMap[])[0]?.keys() ?? [])]).toEqual(['enc', 'recipient']);
  });

  it('normalises lastmodified for the MAC AAD as Go does', () => {
    expect(normaliseTimestamp('2024-03-25T22:08:10Z', 'f')).toBe('2024-03-25T22:08:10Z');
    expect(normaliseTimestamp('2024-03-25T22:08:10.123456Z', 'f')).toBe('2024-03-25T22:08:10Z');
    expect(normaliseTimestamp('2024-03-25T22:08:10+02:00', 'f')).toBe('2024-03-25T22:08:10+02:00');
    expect(normaliseTimestamp('2024-03-25T22:08:10+00:00', 'f')).toBe('2024-03-25T22:08:10Z');
    expect(formatTimestamp(new Date('2024-03-25T22:08:10.999Z'))).toBe('2024-03-25T22:08:10Z');
    expectCode(() => normaliseTimestamp('yesterday', 'f'), 'METADATA_INVALID');
  });
});

describe('MAC', () => {
  it('reproduces the MAC of the SOPS age fixture', () => {
    const mac = new MacAccumulator(false);
    for (const value of ['this is a secret', 'string', '7', '3.14', 'True', 'this is a secret', 'one', 'two', 'three']) {
      mac.add(new TextEncoder().encode(value), true);
    }
    expect(mac.digest()).toBe(
      '3B83FDE1D6E139C4E0789EBDFFDE65D3AD44BCFB0B391C64F052064DC4BF6523B29B2CDF8F4AFE05917972B73594B97908D404BC21F9614C2638D26DCBB6E580',
    );
  });

  it('ignores clear values only in mac_only_encrypted mode, which is prefixed', () => {
    const all = new MacAccumulator(false);
    const only = new MacAccumulator(true);
    const plain = new MacAccumulator(true);
    for (const mac of [all, only]) {
      mac.add(new TextEncoder().encode('secret'), true);
      mac.add(new TextEncoder().encode('public'), false);
    }
    plain.add(new TextEncoder().encode('secret'), true);
    expect(only.digest()).toBe(plain.digest());
    const allDigest = all.digest();
    const unprefixed = new MacAccumulator(false);
    unprefixed.add(new TextEncoder().encode('secret'), true);
    expect(allDigest).not.toBe(unprefixed.digest());
  });
});
