// coffer.yaml: globs, parsing, every bad-input case with its line, the schema file, and the text
// edit of revoke.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { environmentFor, expandRecipients, parseCofferConfig, planForEnvironment } from '../../src/policy/coffer-config.js';
import { COFFER_SCHEMA } from '../../src/policy/coffer-schema.js';
import { GlobSyntaxError, matchesGlob } from '../../src/policy/glob.js';
import { removeRecipientFromPolicy } from '../../src/policy/policy-edit.js';

const A = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const B = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';
const FP = 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4';

const good = `version: 1
recipients:
  alice: { age: [${A}], pgp: ["${FP.slice(0, 20)} ${FP.slice(20)}"], email: alice@example.com, github: alice }
  ci: { age: ${B} }
groups:
  developers: [alice]
  operators: [ci, developers]
environments:
  dev:
    files: ["secrets/dev/**", "secrets/dev.{yaml,env}"]
    readers: [developers, ci]
    encrypted_regex: "^(password|token)$"
  prod:
    files: ["secrets/prod.*"]
    key_groups: [[operators], [ci]]
    shamir_threshold: 2
    mac_only_encrypted: true
`;

function parse(text: string) {
  return parseCofferConfig(text, '/repo/coffer.yaml', '/repo');
}

function failure(text: string): CofferError {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof CofferError) return error;
    throw error;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('globs', () => {
  it.each([
    ['secrets/dev/**', 'secrets/dev/a.yaml', true],
    ['secrets/dev/**', 'secrets/dev/x/y/z.env', true],
    ['secrets/dev/**', 'secrets/dev.yaml', false],
    ['secrets/**/*.yaml', 'secrets/a.yaml', true],
    ['secrets/**/*.yaml', 'secrets/a/b/c.yaml', true],
    ['secrets/**/*.yaml', 'secrets/a/b/c.json', false],
    ['secrets/*.yaml', 'secrets/a/b.yaml', false],
    ['secrets/prod.*', 'secrets/prod.yaml', true],
    ['secrets/prod.*', 'secrets/production.yaml', false],
    ['secrets/dev.{yaml,env}', 'secrets/dev.env', true],
    ['secrets/dev.{yaml,env}', 'secrets/dev.json', false],
    ['app?.env', 'app1.env', true],
    ['app?.env', 'app/.env', false],
    ['[ab].yaml', 'a.yaml', true],
    ['[!ab].yaml', 'a.yaml', false],
    ['a+b(c).yaml', 'a+b(c).yaml', true],
    ['**', 'any/thing', true],
  ])('%s vs %s -> %s', (glob, path, expected) => {
    expect(matchesGlob(path, glob)).toBe(expected);
  });

  it.each(['', '/abs/**', 'a**/b', 'x/{a,b', 'x[ab'])('rejects %j', (glob) => {
    expect(() => matchesGlob('x', glob)).toThrow(GlobSyntaxError);
  });
});

describe('parsing coffer.yaml', () => {
  it('reads recipients, nested groups and environments', () => {
    const config = parse(good);
    expect(config.recipients.get('alice')).toMatchObject({ age: [A], pgp: [FP], email: 'alice@example.com', line: 3 });
    expect(expandRecipients(config, ['operators'])).toEqual(['ci', 'alice']);
    const dev = config.environments[0]!;
    expect(planForEnvironment(config, dev)).toEqual({ groups: [{ age: [A, B], pgp: [FP] }] });
    expect(dev.selectionRule).toEqual({ kind: 'encrypted_regex', pattern: '^(password|token)$' });
    const prod = config.environments[1]!;
    expect(planForEnvironment(config, prod)).toEqual({ groups: [{ age: [B, A], pgp: [FP] }, { age: [B], pgp: [] }], shamirThreshold: 2 });
    expect(prod.macOnlyEncrypted).toBe(true);
    expect(environmentFor(config, 'secrets/dev.env')?.environment.name).toBe('dev');
    expect(environmentFor(config, 'secrets/prod.json')?.pattern).toBe('secrets/prod.*');
    expect(environmentFor(config, 'other.yaml')).toBeUndefined();
  });

  const cases: [string, string, string, number][] = [
    ['unknown top-level field', good.replace('version: 1', 'version: 1\nowner: me'), 'unknown field "owner" in the top level', 2],
    ['unknown recipient field', good.replace('github: alice', 'gitlab: alice'), 'unknown field "gitlab" in recipients.alice', 3],
    ['unknown environment field', good.replace('    mac_only_encrypted: true', '    readers_extra: [ci]'), 'unknown field "readers_extra" in environments.prod', 17],
    ['missing version', good.replace('version: 1\n', ''), 'the top level needs a "version" field', 1],
    ['wrong version', good.replace('version: 1', 'version: 2'), 'version must be 1', 1],
    ['invalid age key', good.replace(`ci: { age: ${B} }`, 'ci: { age: age1notakey }'), 'recipients.ci.age: key 1 is not valid: bad bech32 encoding or checksum', 4],
    ['secret key instead of recipient', good.replace(`ci: { age: ${B} }`, 'ci: { age: AGE-SECRET-KEY-1QQQQ }'), 'it is a secret key', 4],
    ['short PGP key id', good.replace(`pgp: ["${FP.slice(0, 20)} ${FP.slice(20)}"]`, 'pgp: [3D16CEE4A27381B4]'), 'not a full PGP fingerprint', 3],
    ['recipient without keys', good.replace(`ci: { age: ${B} }`, 'ci: { email: ci@example.com }'), 'recipient "ci" has no age or pgp key', 4],
    ['key shared by two recipients', good.replace(`ci: { age: ${B} }`, `ci: { age: ${A} }`), 'also belongs to "alice"', 4],
    ['bad name', good.replace('  ci: {', '  "c i": {').replaceAll('ci]', '"c i"]').replace('[ci,', '["c i",'), '"c i" in recipients is not a valid name', 4],
    ['group that names itself', good.replace('developers: [alice]', 'developers: [alice, developers]'), 'group "developers" includes itself', 6],
    ['cycle of groups', good.replace('developers: [alice]', 'developers: [alice, operators]'), 'groups include each other in a cycle: developers -> operators -> developers', 6],
    ['dangling name in a group', good.replace('developers: [alice]', 'developers: [alice, bob]'), 'group "developers" names "bob", which is neither a recipient nor a group', 6],
    ['dangling reader', good.replace('readers: [developers, ci]', 'readers: [developers, cj]'), 'environments.dev.readers names "cj"', 11],
    ['recipient and group of one name', good.replace('operators: [ci, developers]', 'operators: [ci, developers]\n  ci: [alice]'), '"ci" is both a recipient and a group', 8],
    ['readers and key_groups', good.replace('    shamir_threshold: 2', '    shamir_threshold: 2\n    readers: [ci]'), 'needs exactly one of readers or key_groups', 13],
    ['no files', good.replace('    files: ["secrets/prod.*"]\n', ''), 'needs exactly one of files (globs) or path_regex', 13],
    ['bad glob', good.replace('"secrets/prod.*"', '"secrets/prod.{yaml"'), 'environments.prod.files[0]: a `{` has no closing `}`', 14],
    ['threshold above groups', good.replace('shamir_threshold: 2', 'shamir_threshold: 3'), 'shamir_threshold is 3 but there are only 2 key groups', 16],
    ['threshold without key groups', good.replace('    encrypted_regex', '    shamir_threshold: 1\n    encrypted_regex'), 'shamir_threshold needs key_groups', 12],
    ['two selection rules', good.replace('    encrypted_regex', '    unencrypted_suffix: _clear\n    encrypted_regex'), 'sets unencrypted_suffix and encrypted_regex', 13],
    ['bad regex', good.replace('"^(password|token)$"', '"^(password"'), 'environments.dev.encrypted_regex is not a valid regular expression', 12],
    ['readers not a list', good.replace('readers: [developers, ci]', 'readers: developers'), 'environments.dev.readers must be a list', 11],
    ['invalid YAML', good.replace('groups:', 'groups: [\n'), 'invalid YAML', 8],
    ['duplicate key', good.replace('  ci: { age', '  alice: { age: x }\n  ci: { age'), 'invalid YAML (duplicate key)', 4],
  ];
  it.each(cases)('%s: CONFIG_INVALID with file:line', (_name, text, message, line) => {
    const error = failure(text);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(message);
    expect(error.message.startsWith(`/repo/coffer.yaml:${line}: `), error.message).toBe(true);
    expect(error.hints.length).toBeGreaterThan(0);
    expect(error.message).not.toContain('AGE-SECRET-KEY');
  });

  it('two environments claiming one file is an error naming both', () => {
    const config = parse(good.replace('"secrets/prod.*"', '"secrets/*.yaml"'));
    expect(() => environmentFor(config, 'secrets/dev.yaml')).toThrow(/secrets\/dev\.yaml is claimed by environments "dev" \(secrets\/dev\.\{yaml,env\}\) and "prod" \(secrets\/\*\.yaml\)/);
  });

  it('schemas/coffer.schema.json is the schema the parser uses', () => {
    const file = JSON.parse(readFileSync(join(import.meta.dirname, '../../schemas/coffer.schema.json'), 'utf8'));
    expect(file).toEqual(JSON.parse(JSON.stringify(COFFER_SCHEMA)));
  });

  it('reserves schema, owners and approvals per environment', () => {
    const config = parse(good.replace('    mac_only_encrypted: true', '    schema: schemas/prod.json\n    owners: [alice]\n    approvals: { required: 2 }'));
    expect(config.environments).toHaveLength(2);
  });
});

describe('removing a recipient from the text', () => {
  const text = `# policy
version: 1
recipients:
  alice: { age: ${A} }  # lead
  bob:
    age: [${B}]
    email: bob@example.com
groups:
  developers: [alice, bob]  # keep me
  reviewers: [bob, alice]
environments:
  dev:
    files: ["**"]
    readers:
      - developers
      - bob  # direct
  prod:
    files: ["prod/**"]
    key_groups: [[alice], [alice, bob]]
`;

  it('cuts only their entry and their names, in flow and block lists', () => {
    const edit = removeRecipientFromPolicy(parse(text), text, 'bob');
    expect(edit.changes).toEqual([
      'recipients: removed bob',
      'groups.developers: removed bob',
      'groups.reviewers: removed bob',
      'environments.dev.readers: removed bob',
      'environments.prod.key_groups[1]: removed bob',
    ]);
    expect(edit.text).toBe(`# policy
version: 1
recipients:
  alice: { age: ${A} }  # lead
groups:
  developers: [alice]  # keep me
  reviewers: [alice]
environments:
  dev:
    files: ["**"]
    readers:
      - developers
  prod:
    files: ["prod/**"]
    key_groups: [[alice], [alice]]
`);
  });

  it('refuses to leave a group or key group empty', () => {
    const error = (() => {
      try {
        removeRecipientFromPolicy(parse(text), text, 'alice');
      } catch (caught) {
        return caught as CofferError;
      }
      throw new Error('expected an error');
    })();
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('removing "alice" would leave environments.prod.key_groups[0] empty');
  });
});

describe('parsing the same text again', () => {
  it('gives the same policy under the new path, and errors name their own path', () => {
    const first = parseCofferConfig(good, 'coffer.yaml', '/repo');
    const second = parseCofferConfig(good, '/repo/coffer.yaml', '/repo');
    expect(first.path).toBe('coffer.yaml');
    expect(second.path).toBe('/repo/coffer.yaml');
    expect(second.environments).toEqual(first.environments);
    expect([...second.recipients.keys()]).toEqual(['alice', 'ci']);
    // another directory: globs are relative to it, so it is parsed for that directory
    expect(parseCofferConfig(good, '/other/coffer.yaml', '/other').dir).toBe('/other');
    const bad = 'version: 1\nrecipients: {}\nenvironments:\n  dev: { files: ["x"], readers: [nobody] }\n';
    expect(() => parseCofferConfig(bad, 'a/coffer.yaml', '/repo')).toThrow(/^a\/coffer\.yaml:4: /);
    expect(() => parseCofferConfig(bad, 'b/coffer.yaml', '/repo')).toThrow(/^b\/coffer\.yaml:4: /);
  });
});
