// 20 `coffer set` processes on one file at once lose no update, and readers during the writes
// (20 `coffer decrypt`/`get` processes, plus a tight in-process read loop) never see a torn file.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigYaml, type CliDir, createCliDir, type Finished, flatten, leftovers } from './cli-process.js';

const WRITERS = 20;
const READERS = 20;

let cli: CliDir;
beforeAll(async () => {
  cli = await createCliDir('coffer-concurrency-');
  const { text } = bigYaml(20, 10);
  await writeFile(cli.path('shared.yaml'), text);
  const encrypt = await cli.run(['encrypt', '--in-place', '--age', cli.key.recipient, 'shared.yaml']);
  expect(encrypt.code, encrypt.stderr).toBe(0);
});
afterAll(() => cli?.dispose());

describe('concurrency', () => {
  it(`${WRITERS} concurrent set processes: 0 lost updates; ${READERS} readers never see a torn file`, async () => {
    const before = flatten((await cli.open('shared.yaml')).plain.toPlain()[0]);
    let reading = true;
    let loopReads = 0;
    const torn: string[] = [];
    // In-process reader: every complete read of the file must open with a verified MAC.
    const loop = (async () => {
      while (reading) {
        const text = await readFile(cli.path('shared.yaml'));
        try {
          const opened = await cli.open('shared.yaml');
          if (!opened.macVerified) torn.push('mac not verified');
        } catch (error) {
          torn.push(`${String(error)} (${text.length} bytes)`);
        }
        loopReads += 1;
      }
    })();

    const writers = Array.from({ length: WRITERS }, (_, i) => cli.start(['set', 'shared.yaml', `writer${i}.value`, '--value', `canary-writer-${i}`]).finished);
    // Readers start staggered over the time the writers take.
    const readers: Promise<Finished>[] = [];
    for (let i = 0; i < READERS; i++) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      readers.push(cli.start(i % 2 === 0 ? ['decrypt', 'shared.yaml'] : ['get', 'shared.yaml', 'svc3.k3']).finished);
    }
    const written = await Promise.all(writers);
    const read = await Promise.all(readers);
    reading = false;
    await loop;

    for (const result of written) expect(result.code, result.stderr).toBe(0);
    for (const result of read) expect(result.code, result.stderr).toBe(0);
    for (const [index, result] of read.entries()) {
      if (index % 2 === 0) expect(result.stdout).toContain('svc19:');
      else expect(result.stdout).toBe(before.get('svc3.k3'));
    }
    expect(torn).toEqual([]);

    const after = flatten((await cli.open('shared.yaml')).plain.toPlain()[0]);
    const lost = Array.from({ length: WRITERS }, (_, i) => i).filter((i) => after.get(`writer${i}.value`) !== `canary-writer-${i}`);
    for (const [path, value] of before) expect(after.get(path)).toBe(value);
    expect(await leftovers(cli.dir)).toEqual([]);
    console.log(`concurrency: ${WRITERS} writers, ${lost.length} lost updates; ${READERS} reader processes all exit 0; ${loopReads} in-process reads, ${torn.length} torn`);
    expect(lost).toEqual([]);
  }, 120_000);
});
