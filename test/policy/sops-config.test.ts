import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CofferError } from '../../src/errors.js';
import {
  type ConfigSources,
  findSopsConfig,
  loadSopsConfig,
  parseSopsConfig,
  resolveCreationRule,
  resolveRecipients,
} from '../../src/policy/sops-config.js';

const A = 'age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvr';
const B = 'age19j4d6v9j7rx5fs629fu387qz4zmlpsqjexa4s08tkfrrmfdl5cwqjlaupd';
const C = 'age13runq29jhy9kfpaegczrzttykerswh0qprq59msgd754yermtfmsa3hwg2';

function configError(run: () => unknown): CofferError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CofferError);
    return error as CofferError;
  }
  throw new Error('expected an error');
}

const CONFIG = `stores:
  yaml:
    indent: 2
  json:
    indent: -1
creation_rules:
  - path_regex: prod/.*\\.yaml$
    key_groups:
      - age:
          - ${A}
        pgp:
          - FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4
      - age: [${B}]
        merge:
          - age: [${C}]
    shamir_threshold: 2
    encrypted_regex: ^(data|stringData)$
    mac_only_encrypted: true
  - path_regex: (?i)\\.ENV$
    age: ${A}, ${B}
    unencrypted_suffix: _clear
  - age:
      - ${C}
`;

describe('parseSopsConfig', () => {
  test('reads rules, key groups with merge, pgp, threshold, selection rule and store indents', () => {
    const config = parseSopsConfig(CONFIG, '/repo/.sops.yaml');
    expect(config.stores).toEqual({ yamlIndent: 2, jsonIndent: -1 });
    expect(config.creationRules).toHaveLength(3);
    const [prod, env, fallback] = config.creationRules;
    expect(prod).toMatchObject({
      pathRegex: 'prod/.*\\.yaml$',
      groups: [
        { age: [A], pgp: ['FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4'] },
        { age: [B, C], pgp: [] },
      ],
      shamirThreshold: 2,
      selectionRule: { kind: 'encrypted_regex', pattern: '^(data|stringData)$' },
      macOnlyEncrypted: true,
      line: 7,
    });
    expect(env).toMatchObject({ groups: [{ age: [A, B], pgp: [] }], selectionRule: { kind: 'unencrypted_suffix', pattern: '_clear' } });
    expect(fallback).toMatchObject({ groups: [{ age: [C], pgp: [] }], line: 22 });
  });

  test('an empty file has no rules', () => {
    expect(parseSopsConfig('', '/r/.sops.yaml').creationRules).toEqual([]);
  });

  test.each([
    ['creation_rules:\n  - path_regex: x\n    agee: age1\n', 3, 'unknown creation rule field "agee"'],
    ['creation_rules:\n  - age: [a\n', 3, 'invalid YAML'], // unterminated: reported at the end
    ['creation_rules:\n  - path_regex: "("\n', 2, 'path_regex is not a valid regular expression'],
    ['creation_rules:\n  - unencrypted_suffix: _u\n    encrypted_regex: x\n', 3, 'only one of'],
    ['creation_rules:\n  - age: age1nope\n', 2, 'age recipient #1 is not valid'],
    ['creation_rules:\n  - shamir_threshold: two\n', 2, 'shamir_threshold'],
    ['creation_rules:\n  - key_groups:\n      - age: []\n        agent: x\n', 4, 'unknown key group field'],
    ['creation_rule:\n  - age: x\n', 1, 'unknown top-level field'],
    ['a: 1\na: 2\n', 2, 'invalid YAML'],
  ])('invalid config %#: CONFIG_INVALID at the right line', (text, line, message) => {
    const error = configError(() => parseSopsConfig(text, '/r/.sops.yaml'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`/r/.sops.yaml:${line}:`);
    expect(error.message).toContain(message);
  });
});

describe('resolveCreationRule', () => {
  const config = parseSopsConfig(CONFIG, '/repo/.sops.yaml');

  test('matches path_regex against the path relative to the config dir, first match wins', () => {
    const prod = resolveCreationRule(config, '/repo', '/repo/prod/db.yaml');
    expect(prod.groups).toHaveLength(2);
    expect(prod.shamirThreshold).toBe(2);
    expect(prod.source).toBe('/repo/.sops.yaml:7');
    expect(resolveCreationRule(config, '/repo', '/repo/app/.env').groups).toEqual([{ age: [A, B], pgp: [] }]);
    expect(resolveCreationRule(config, '/repo', '/repo/app/PROD.ENV').selectionRule?.pattern).toBe('_clear');
    expect(resolveCreationRule(config, '/repo', '/repo/dev/db.yaml').groups).toEqual([{ age: [C], pgp: [] }]);
    // relative file paths are resolved against cwd; the regex is unanchored
    expect(resolveCreationRule(config, '/repo', 'prod/x.yaml', '/repo').groups).toHaveLength(2);
    expect(resolveCreationRule(config, '/repo', 'x.yaml', '/repo/sub/prod').groups).toHaveLength(2);
  });

  test('files outside the config dir are matched by absolute path', () => {
    const anchored = parseSopsConfig(`creation_rules:\n  - path_regex: ^/elsewhere/\n    age: ${A}\n  - path_regex: ^prod\n    age: ${B}\n`, '/repo/.sops.yaml');
    expect(resolveCreationRule(anchored, '/repo', '/elsewhere/prod.yaml').groups).toEqual([{ age: [A], pgp: [] }]);
    expect(resolveCreationRule(anchored, '/repo', '/repo/prod.yaml').groups).toEqual([{ age: [B], pgp: [] }]);
  });

  test('no matching rule is NO_RECIPIENTS naming --age and .sops.yaml', () => {
    const only = parseSopsConfig(`creation_rules:\n  - path_regex: ^prod/\n    age: ${A}\n`, '/repo/.sops.yaml');
    const error = configError(() => resolveCreationRule(only, '/repo', '/repo/dev/x.yaml'));
    expect(error.code).toBe('NO_RECIPIENTS');
    expect(error.hints.join(' ')).toContain('--age');
    expect(error.hints.join(' ')).toContain('.sops.yaml');
  });

  test('a rule using kms is UNSUPPORTED_KEY_SOURCE; a rule without keys is NO_RECIPIENTS', () => {
    const kms = parseSopsConfig('creation_rules:\n  - kms: arn:aws:kms:eu:1:key/x\n', '/r/.sops.yaml');
    expect(configError(() => resolveCreationRule(kms, '/r', '/r/a.yaml')).code).toBe('UNSUPPORTED_KEY_SOURCE');
    const empty = parseSopsConfig('creation_rules:\n  - path_regex: .*\n', '/r/.sops.yaml');
    expect(configError(() => resolveCreationRule(empty, '/r', '/r/a.yaml')).code).toBe('NO_RECIPIENTS');
  });
});

describe('resolveRecipients precedence', () => {
  const config = parseSopsConfig(CONFIG, '/repo/.sops.yaml');

  test('flags give one group of exactly those keys; the rule still gives the selection rule', () => {
    const resolved = resolveRecipients({ flags: { age: [B] }, env: {}, filePath: '/repo/prod/a.yaml', cwd: '/repo', config });
    expect(resolved.groups).toEqual([{ age: [B], pgp: [] }]);
    expect(resolved.shamirThreshold).toBeUndefined();
    expect(resolved.selectionRule?.kind).toBe('encrypted_regex');
    expect(resolved.source).toBe('flags');
  });

  test('SOPS_AGE_RECIPIENTS counts as a flag', () => {
    const resolved = resolveRecipients({ flags: {}, env: { SOPS_AGE_RECIPIENTS: A }, filePath: '/repo/prod/a.yaml', cwd: '/repo', config });
    expect(resolved.groups).toEqual([{ age: [A], pgp: [] }]);
  });

  test('no flags: the config decides; no config: NO_RECIPIENTS', () => {
    expect(resolveRecipients({ flags: {}, env: {}, filePath: 'prod/a.yaml', cwd: '/repo', config }).groups).toHaveLength(2);
    const error = configError(() => resolveRecipients({ flags: {}, env: {}, filePath: 'a.yaml', cwd: '/repo' }));
    expect(error.code).toBe('NO_RECIPIENTS');
    expect(error.hints.join(' ')).toMatch(/--age.*\.sops\.yaml|\.sops\.yaml.*--age/s);
  });
});

describe('findSopsConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-config-'));
    await mkdir(join(dir, 'a', 'b', 'c'), { recursive: true });
    await writeFile(join(dir, '.sops.yaml'), `creation_rules:\n  - age: ${A}\n`);
    await writeFile(join(dir, 'a', '.sops.yml'), 'ignored');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('searches upward from cwd, ignoring .sops.yml with a warning', async () => {
    const warnings: string[] = [];
    const found = await findSopsConfig(join(dir, 'a', 'b', 'c'), { onWarning: (message) => warnings.push(message) });
    expect(found).toBe(join(dir, '.sops.yaml'));
    expect(warnings).toEqual([`ignoring ${join(dir, 'a', '.sops.yml')}: the config file must be named .sops.yaml`]);
    const config = await loadSopsConfig(found!);
    expect(config.creationRules[0]!.groups).toEqual([{ age: [A], pgp: [] }]);
  });

  test('--config and SOPS_CONFIG win; a missing one is CONFIG_NOT_FOUND', async () => {
    await writeFile(join(dir, 'a', 'other.yaml'), 'creation_rules: []\n');
    expect(await findSopsConfig(join(dir, 'a', 'b'), { configPath: '../other.yaml' })).toBe(join(dir, 'a', 'other.yaml'));
    expect(await findSopsConfig(dir, { env: { SOPS_CONFIG: join(dir, 'a', 'other.yaml') } })).toBe(join(dir, 'a', 'other.yaml'));
    const error = await findSopsConfig(dir, { configPath: 'missing.yaml' }).catch((caught: unknown) => caught);
    expect((error as CofferError).code).toBe('CONFIG_NOT_FOUND');
  });

  test('stops after 100 levels', async () => {
    const checked: string[] = [];
    const sources: ConfigSources = {
      readFile: async () => '',
      exists: async (path) => {
        checked.push(path);
        return false;
      },
    };
    const deep = `/${Array.from({ length: 150 }, (_, i) => `d${i}`).join('/')}`;
    expect(await findSopsConfig(deep, {}, sources)).toBeUndefined();
    expect(checked).toHaveLength(100);
  });
});
