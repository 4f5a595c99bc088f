// Long variant of the scenario tests: many random set/unset commands on a 2,000-value file, checked
// against a model after every step. Each write may change only the touched value, lastmodified and
// mac; a value that did not change keeps its exact ciphertext.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedLines, createSandbox, type Sandbox } from './sandbox.js';

const SERVICES = 100;
const KEYS = 20;
const STEPS = 300;

/** A small deterministic generator, so a failure can be replayed from the printed seed. */
function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('coffer set/unset under many random edits', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await createSandbox();
  });
  afterAll(async () => {
    await sb?.dispose();
  });

  it(`${STEPS} random edits of a ${SERVICES * KEYS}-value file keep every other line`, async () => {
    const seed = Number(process.env.STRESS_SEED ?? Date.now() % 100_000);
    console.log(`stress seed ${seed} (replay with STRESS_SEED=${seed})`);
    const random = randomFrom(seed);
    const model = new Map<string, string>();
    const lines = [];
    for (let s = 0; s < SERVICES; s++) {
      lines.push(`svc${s}:`);
      for (let k = 0; k < KEYS; k++) {
        model.set(`svc${s}.k${k}`, `value-${s}-${k}`);
        lines.push(`  k${k}: value-${s}-${k}`);
      }
    }
    await sb.write('big.yaml', `${lines.join('\n')}\n`);
    expect((await sb.run(['encrypt', '--in-place', '--age', sb.recipient, 'big.yaml'])).code).toBe(0);

    for (let step = 0; step < STEPS; step++) {
      const before = await sb.read('big.yaml');
      const path = `svc${Math.floor(random() * SERVICES)}.k${Math.floor(random() * KEYS)}`;
      const action = random();
      if (action < 0.8) {
        const value = action < 0.2 && model.has(path) ? model.get(path)! : `new-${step}-${Math.floor(random() * 1e6)}`;
        const result = await sb.run(['set', 'big.yaml', path, '--value', value]);
        expect(result.code, result.stderr).toBe(0);
        const after = await sb.read('big.yaml');
        if (model.get(path) === value) expect(after).toBe(before);
        else if (model.has(path)) {
          const names = changedLines(before, after).map((index) => after.split('\n')[index]?.trim().split(':')[0]);
          expect(names.filter((name) => name !== 'lastmodified')).toEqual([path.split('.')[1], 'mac']);
        }
        model.set(path, value);
      } else {
        const result = await sb.run(['unset', '--if-exists', 'big.yaml', path]);
        expect(result.code, result.stderr).toBe(0);
        if (!model.has(path)) expect(await sb.read('big.yaml')).toBe(before);
        model.delete(path);
      }
    }

    const decrypted = await sb.run(['decrypt', '--output-type', 'json', 'big.yaml']);
    expect(decrypted.code, decrypted.stderr).toBe(0);
    const flat = new Map<string, string>();
    for (const [service, values] of Object.entries(JSON.parse(decrypted.stdout) as Record<string, Record<string, string>>)) {
      for (const [key, value] of Object.entries(values)) flat.set(`${service}.${key}`, value);
    }
    expect(flat).toEqual(model);
  });
});
