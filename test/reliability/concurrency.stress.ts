// Rounds of the concurrency test's shape: 5 rounds of 20 writers and 20 readers on a 200-value file.
// (On a 2-core machine, 20 writers of a 1,000-value file next to other stress files exceed the
// 10 s lock wait: they fail with LOCK_TIMEOUT, reported and nothing lost, but not what this measures.)
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigYaml, type CliDir, createCliDir, flatten, leftovers } from './cli-process.js';

const ROUNDS = 5;
const WRITERS = 20;

let cli: CliDir;
beforeAll(async () => {
  cli = await createCliDir('coffer-concurrency-stress-');
  await writeFile(cli.path('shared.yaml'), bigYaml(20, 10).text);
  const encrypt = await cli.run(['encrypt', '--in-place', '--age', cli.key.recipient, 'shared.yaml']);
  expect(encrypt.code, encrypt.stderr).toBe(0);
});
afterAll(() => cli?.dispose());

describe('concurrency (stress)', () => {
  it(`${ROUNDS} rounds of ${WRITERS} writers and ${WRITERS} readers: 0 lost updates, 0 torn reads`, async () => {
    let lost = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const writers = Array.from({ length: WRITERS }, (_, i) => cli.start(['set', 'shared.yaml', `r${round}.w${i}`, '--value', `canary-${round}-${i}`]).finished);
      const readers = Array.from({ length: WRITERS }, (_, i) => cli.start(i % 2 ? ['decrypt', 'shared.yaml'] : ['get', 'shared.yaml', 'svc1.k1']).finished);
      for (const result of await Promise.all([...writers, ...readers])) expect(result.code, result.stderr).toBe(0);
      const values = flatten((await cli.open('shared.yaml')).plain.toPlain()[0]);
      for (let i = 0; i < WRITERS; i++) if (values.get(`r${round}.w${i}`) !== `canary-${round}-${i}`) lost += 1;
    }
    console.log(`concurrency stress: ${ROUNDS * WRITERS} writes, ${lost} lost updates`);
    expect(lost).toBe(0);
    expect(await leftovers(cli.dir)).toEqual([]);
  }, 900_000);
});
