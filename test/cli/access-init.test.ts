// `coffer init`: a commented starter that parses, the import of .sops.yaml, and refusing to overwrite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, jsonError, type Sandbox } from './sandbox.js';

describe('coffer init', () => {
  let sb: Sandbox;
  beforeEach(async () => {
    sb = await createSandbox();
  });
  afterEach(() => sb.dispose());

  it('writes a commented starter for the own key, then encrypts by it', async () => {
    const result = await sb.run(['init', '--environment', 'dev=secrets/*.yaml'], { env: { USER: 'Alice' } });
    expect(result.code, result.stderr).toBe(0);
    const text = await sb.read('coffer.yaml');
    expect(text).toContain(`  alice: { age: ${sb.recipient} }`);
    expect(text).toContain('    files: ["secrets/*.yaml"]');
    expect(text).toContain('# yaml-language-server: $schema=');
    expect(text).toContain('#   shamir_threshold: 2');
    await sb.run(['keygen', '-o', 'other.txt']);
    await sb.write('secrets.yaml', 'a: 1\n');
    expect((await sb.run(['init'])).code).toBe(2);
    await sb.write('x.yaml', 'token: init-canary\n');
    const explain = await sb.run(['explain', 'secrets/app.yaml']);
    expect(explain.stdout).toContain('MATCH (secrets/*.yaml)');
  });

  it('takes recipients and environments from flags, and refuses bad ones', async () => {
    const ok = await sb.run(['init', '-o', '-', '--recipient', `ci=${sb.recipient}`, '--environment', 'prod=prod/**,prod.yaml']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('    files: ["prod/**", prod.yaml]');
    const bad = await sb.run(['init', '-o', '-', '--recipient', 'ci=age1nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('age recipient #1 is not valid');
    expect(jsonError(await sb.run(['access', '--json'])).code).toBe('CONFIG_NOT_FOUND');
  });

  it('imports .sops.yaml rules as environments, and coffer.yaml then wins', async () => {
    await sb.write('.sops.yaml', `creation_rules:\n  - path_regex: ^prod/.*\\.yaml$\n    age: ${sb.recipient}\n    encrypted_regex: ^pass\n  - age: ${sb.recipient}\n`);
    const result = await sb.run(['init', '--from-sops', '--recipient', `me=${sb.recipient}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('coffer.yaml now wins over .sops.yaml');
    const text = await sb.read('coffer.yaml');
    expect(text).toContain('  prod:\n    # .sops.yaml line 2\n    path_regex: "^prod/.*\\\\.yaml$"\n    readers: [me]\n    encrypted_regex: "^pass"');
    expect(text).toContain('  rule-2:');
    const explain = await sb.run(['explain', '--json', 'prod/db.yaml']);
    const json = JSON.parse(explain.stdout);
    // both imported patterns match: SOPS took the first, coffer.yaml asks for one environment per file
    expect(json.kind).toBe('coffer');
    expect(json.problem).toContain('claimed by 2 environments');
    expect(explain.code).toBe(2);
  });
});
