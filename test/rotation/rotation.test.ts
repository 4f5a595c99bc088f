// The rotation plan and pull request text (no plaintext, stable order) and the per-file rotation:
// only due key paths change, everything else keeps its ciphertext, and a rerun changes nothing.
import { describe, expect, it } from 'vitest';
import { openFile } from '../../src/file/secrets-file.js';
import { detectStore } from '../../src/format/stores/index.js';
import { rotateFileValues } from '../../src/rotation/apply.js';
import { type DueSecret, offboardingBody, planRotations, rotationBody, rotationBranch, rotationCommitMessage, rotationTitle } from '../../src/rotation/plan.js';
import { SecretsWriter } from '../git/repo.js';
import { keyRingFor, makeTestKey } from '../helpers/keys.js';

const encoder = new TextEncoder();

const secret = (overrides: Partial<DueSecret>): DueSecret => ({ file: 'secrets/prod.yaml', keyPath: 'db.password', environment: 'prod', state: 'overdue', ageDays: 120, policy: 'rotate 90d', ...overrides });

describe('planRotations', () => {
  it('groups by environment into one branch each, in a stable order', () => {
    const date = new Date('2026-11-23T10:00:00Z');
    const plans = planRotations([secret({ environment: 'staging', keyPath: 'b' }), secret({ keyPath: 'z', generator: 'hex' }), secret({ keyPath: 'a', file: 'secrets/a.yaml' }), secret({ environment: 'staging', keyPath: 'a' })], date);
    expect(plans.map((plan) => [plan.environment, plan.branch, plan.secrets.map((item) => `${item.file}:${item.keyPath}`)])).toEqual([
      ['prod', 'coffer/rotate-prod-2026-11-23', ['secrets/a.yaml:a', 'secrets/prod.yaml:z']],
      ['staging', 'coffer/rotate-staging-2026-11-23', ['secrets/prod.yaml:a', 'secrets/prod.yaml:b']],
    ]);
    expect(rotationBranch('prod', date)).toBe('coffer/rotate-prod-2026-11-23');
  });

  it('writes a table of every secret and a checklist of the manual ones, escaping table syntax', () => {
    const [plan] = planRotations([secret({ generator: 'password' }), secret({ keyPath: 'odd|key', policy: 'expires 2026-01-01', state: 'expired', ageDays: 400 })], new Date('2026-11-23'));
    const body = rotationBody(plan!);
    expect(body).toContain('| Key path | Environment | Age | Policy | Change |');
    expect(body).toContain('| `secrets/prod.yaml: db.password` | prod | 120d | rotate 90d (overdue) | generated (password) |');
    expect(body).toContain('| `secrets/prod.yaml: odd\\|key` | prod | 400d | expires 2026-01-01 (expired) | manual |');
    expect(body).toContain('- [ ] `secrets/prod.yaml: odd\\|key` (expires 2026-01-01)');
    expect(body).not.toContain('- [ ] `secrets/prod.yaml: db.password`');
    expect(rotationTitle(plan!)).toBe('coffer: rotate 2 secrets in prod');
    expect(rotationCommitMessage(plan!, [plan!.secrets[0]!])).toBe('coffer: rotate 1 generated secret in prod\n\n- secrets/prod.yaml: db.password (password)\n');
    expect(offboardingBody('bob', [{ path: 'secrets/prod.yaml', environment: 'prod', keyPaths: ['a', 'b'] }])).toContain('- [ ] `secrets/prod.yaml: a`\n- [ ] `secrets/prod.yaml: b`\n');
  });
});

describe('rotateFileValues', () => {
  it('changes only the due key paths, and a rerun against the rotated file changes nothing', async () => {
    const key = await makeTestKey();
    const keys = keyRingFor(key);
    const writer = new SecretsWriter(keys);
    const file = 'secrets/prod.yaml';
    const base = await writer.encrypt(file, 'db:\n  password: canary-old\n  user: app\napi:\n  token: canary-token\n', [key]);
    let generated = 0;
    const rotations = [{ keyPath: 'db.password', generate: () => `canary-new-${++generated}` }];
    const first = await rotateFileValues(file, encoder.encode(base), encoder.encode(base), rotations, keys);
    expect(first.rotated).toEqual(['db.password']);
    expect(first.alreadyRotated).toEqual([]);
    const changed = base.split('\n').filter((line, index) => first.content!.split('\n')[index] !== line);
    expect(changed.some((line) => line.includes('password: ENC['))).toBe(true);
    expect(changed.some((line) => line.includes('token: ENC[') || line.includes('user: ENC['))).toBe(false);
    const opened = await openFile({ file, store: detectStore(file), content: encoder.encode(first.content!) }, keys);
    expect(opened.plain.getValue(['db', 'password'])).toBe('canary-new-1');
    expect(opened.plain.getValue(['api', 'token'])).toBe('canary-token');
    expect(first.content).not.toContain('canary');

    const second = await rotateFileValues(file, encoder.encode(first.content!), encoder.encode(base), rotations, keys);
    expect(second).toEqual({ rotated: [], alreadyRotated: ['db.password'] });
    expect(generated).toBe(1);
  });
});
