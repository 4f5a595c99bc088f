// coffer.yaml's parsed form as plain JSON data for caches: a round trip gives back the same config
// (every field the parser fills in), and anything that is not plainConfig's output is refused.
import { describe, expect, it } from 'vitest';
import { parseCofferConfig } from '../../src/policy/coffer-config.js';
import { configFromPlain, planForEnvironment, plainConfig } from '../../src/policy/coffer-policy.js';

const A = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const B = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';
const FP = 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4';

const text = `version: 1
recipients:
  alice: { age: [${A}], pgp: ["${FP}"], email: alice@example.com, github: alice }
  ci: { age: ${B} }
groups:
  developers: [alice]
  operators: [ci, developers]
environments:
  dev:
    files: ["secrets/dev/**"]
    readers: [developers, ci]
    encrypted_regex: "^(password|token)$"
    schema: { "secrets/dev/*.env": schemas/env.json, "secrets/dev/**": schemas/dev.json }
    owners: [alice]
    approvals: { required: 2 }
  prod:
    path_regex: "^secrets/prod/"
    key_groups: [[operators], [ci]]
    shamir_threshold: 2
    mac_only_encrypted: true
    schema: schemas/prod.json
signing:
  required: true
  keys: ["${FP}"]
`;

describe('plainConfig and configFromPlain', () => {
  it('round-trips every field through JSON', () => {
    const config = parseCofferConfig(text, 'coffer.yaml', '/repo');
    const back = configFromPlain(JSON.parse(JSON.stringify(plainConfig(config))));
    expect(back).toEqual(config);
    expect(back!.recipients).toBeInstanceOf(Map);
    expect(planForEnvironment(back!, back!.environments[1]!)).toEqual(planForEnvironment(config, config.environments[1]!));
  });

  it('refuses anything else', () => {
    const plain = JSON.parse(JSON.stringify(plainConfig(parseCofferConfig(text, 'coffer.yaml', '/repo')))) as Record<string, unknown>;
    for (const bad of [
      undefined,
      null,
      'coffer.yaml',
      [],
      { ...plain, path: 1 },
      { ...plain, recipients: {} },
      { ...plain, recipients: [{ name: 'x', age: 'age1', pgp: [], line: 1 }] },
      { ...plain, groups: [{ name: 'g', members: [1], line: 1 }] },
      { ...plain, environments: [{ name: 'e', files: [], readers: [], line: 1, keyGroups: [['a'], 'b'] }] },
      { ...plain, environments: [{ name: 'e', files: [], readers: [], line: 1, schemas: [{ glob: 'x' }] }] },
      { ...plain, signing: { required: 'yes', keys: [] } },
    ]) {
      expect(configFromPlain(bad)).toBeUndefined();
    }
  });
});
