import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { getStore } from '../../../src/format/stores/index.js';
import type { PlainMap, StoreName } from '../../../src/format/tree.js';
import { collectLeaves } from './collect.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/sops/${name}`, import.meta.url), 'utf8');

const FIXTURES: [string, StoreName][] = [
  ['age/secret.enc.yaml', 'yaml'],
  ['pgp/format.enc.yaml', 'yaml'],
  ['pgp/format.enc.ini', 'ini'],
  ['pgp/format-2.enc.ini', 'ini'],
];

describe('real SOPS files', () => {
  test.each(FIXTURES)('%s parses and serialises byte-identically', (name, store) => {
    const text = fixture(name);
    const document = getStore(store).parse(text, name);
    expect(document.serialize()).toBe(text);
    expect(document.clone().serialize()).toBe(text);
  });

  test.each(FIXTURES.slice(0, 3))('%s: removing then writing back the same metadata gives the same file', (name, store) => {
    const text = fixture(name);
    const document = getStore(store).parse(text, name);
    const metadata = document.readMetadata()!;
    document.removeMetadata();
    expect(document.readMetadata()).toBeUndefined();
    expect(document.serialize()).not.toContain('lastmodified');
    document.writeMetadata(metadata);
    // The age file was written by 3.8.1 with sops keys in struct order; writing keeps the given order.
    expect(document.serialize()).toBe(text);
  });

  test('INI 3.13.1 """ metadata is rewritten in the 3.13.2 \\n form', () => {
    const document = getStore('ini').parse(fixture('pgp/format-2.enc.ini'));
    document.writeMetadata(document.readMetadata()!);
    const text = document.serialize();
    expect(text).not.toContain('"""');
    expect(text).toMatch(/^pgp__list_0__map_enc {8}= -----BEGIN PGP MESSAGE-----\\n\\nwcBM.*-----END PGP MESSAGE-----$/m);
    expect(getStore('ini').parse(text).readMetadata()).toEqual(document.readMetadata());
  });

  test('age fixture: leaves, key paths and metadata', () => {
    const document = getStore('yaml').parse(fixture('age/secret.enc.yaml'), 'secret.enc.yaml');
    const leaves = collectLeaves(document);
    expect(leaves.map((leaf) => leaf.path)).toEqual([
      'secret',
      'string',
      'int',
      'float',
      'boolean',
      'complex:value',
      'complex:array',
      'complex:array',
      'complex:array',
    ]);
    expect(leaves.every((leaf) => typeof leaf.value === 'string' && leaf.value.startsWith('ENC[AES256_GCM,'))).toBe(true);
    const metadata = document.readMetadata()!;
    expect([...metadata.keys()]).toEqual([
      'kms',
      'gcp_kms',
      'azure_kv',
      'hc_vault',
      'age',
      'lastmodified',
      'mac',
      'pgp',
      'unencrypted_suffix',
      'version',
    ]);
    const age = metadata.get('age') as PlainMap[];
    expect(age).toHaveLength(3);
    expect(age[0]!.get('recipient')).toBe('age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr');
    const enc = age[0]!.get('enc') as string;
    expect(enc.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\nYWdl')).toBe(true);
    expect(enc.endsWith('-----END AGE ENCRYPTED FILE-----\n')).toBe(true);
    expect(metadata.get('lastmodified')).toBe('2024-03-25T22:08:10Z');
    expect(metadata.get('kms')).toEqual([]);
    expect(metadata.get('version')).toBe('3.8.1');
    expect(document.getValue(['sops'])).toBeUndefined();
    expect(document.toPlain()[0]).not.toHaveProperty('sops');
    expect((document.toPlain()[0] as PlainMap).has('sops')).toBe(false);
  });

  test('pgp YAML fixture: |- armor without trailing newline', () => {
    const metadata = getStore('yaml').parse(fixture('pgp/format.enc.yaml')).readMetadata()!;
    const pgp = (metadata.get('pgp') as PlainMap[])[0]!;
    expect(pgp.get('fp')).toBe('FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4');
    expect(pgp.get('created_at')).toBe('2026-05-22T20:16:20Z');
    expect(pgp.get('enc')).toMatch(/^-----BEGIN PGP MESSAGE-----\n\nwcBM[\s\S]*\n-----END PGP MESSAGE-----$/);
  });

  test('INI: the \\n-escaped and """ forms give the same armored text', () => {
    const escaped = getStore('ini').parse(fixture('pgp/format.enc.ini')).readMetadata()!;
    const quoted = getStore('ini').parse(fixture('pgp/format-2.enc.ini')).readMetadata()!;
    const escapedEnc = (escaped.get('pgp') as PlainMap[])[0]!.get('enc') as string;
    const quotedEnc = (quoted.get('pgp') as PlainMap[])[0]!.get('enc') as string;
    for (const enc of [escapedEnc, quotedEnc]) {
      expect(enc).toMatch(/^-----BEGIN PGP MESSAGE-----\n\nwcBM[\s\S]*\n-----END PGP MESSAGE-----$/);
      expect(enc.split('\n')).toHaveLength(12);
    }
    expect([...escaped.keys()]).toEqual(['lastmodified', 'mac', 'pgp', 'unencrypted_suffix', 'version']);
    expect(quoted.get('version')).toBe('3.13.1');
    const leaves = collectLeaves(getStore('ini').parse(fixture('pgp/format.enc.ini')));
    expect(leaves.map((leaf) => leaf.path)).toEqual(['foo:bar']);
  });

  test('INI: decrypting and re-encrypting gives the plaintext file, then SOPS 3.13.2 layout', () => {
    const document = getStore('ini').parse(fixture('pgp/format.enc.ini'));
    const metadata = document.readMetadata()!;
    document.removeMetadata();
    document.mapLeaves(() => 'baz');
    expect(document.serialize()).toBe(fixture('pgp/format.ini'));
    const encrypted = getStore('ini').parse(fixture('pgp/format.ini'));
    encrypted.mapLeaves(() => 'ENC[AES256_GCM,data:Upwq,iv:PjRmKlK3MuUzTjIwr6HX2t5kMXkTFwJw2cdL9/zXQYk=,tag:LASj5iJpy+8UJshqSV3ICg==,type:str]');
    encrypted.writeMetadata(metadata);
    expect(encrypted.serialize()).toBe(fixture('pgp/format.enc.ini'));
  });

  test('YAML: encrypting the plaintext pgp file reproduces the SOPS 3.13.1 layout', () => {
    const source = getStore('yaml').parse(fixture('pgp/format.enc.yaml'));
    const metadata = source.readMetadata()!;
    const encrypted = getStore('yaml').parse(fixture('pgp/format.yaml'));
    encrypted.mapLeaves(() => 'ENC[AES256_GCM,data:8CvE,iv:tjchf/lmMpXDOA1tLE/N4oY9IqJIzfQ/7NlvQlDUtoA=,tag:1aFCHIRp3j/VPNcCEsE95A==,type:str]');
    encrypted.writeMetadata(metadata);
    expect(encrypted.serialize()).toBe(fixture('pgp/format.enc.yaml'));
    const fresh = getStore('yaml').fromPlain([new Map([['foo', 'ENC[AES256_GCM,data:8CvE,iv:tjchf/lmMpXDOA1tLE/N4oY9IqJIzfQ/7NlvQlDUtoA=,tag:1aFCHIRp3j/VPNcCEsE95A==,type:str]']])]);
    fresh.writeMetadata(metadata);
    expect(fresh.serialize()).toBe(fixture('pgp/format.enc.yaml'));
  });
});
