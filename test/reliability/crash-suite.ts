// kill -9 of `coffer set`, `updatekeys` and `rotate` (the built CLI, a large file) at random points.
// After every kill the file is the old version or the new one (it opens, MAC verified, with the old
// or the new values), a leftover temp file holds no plaintext, and the same command then runs to
// completion at once: no lock or temp file blocks it.
import { readFile, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { recipientPlanOf } from '../../src/file/key-ring.js';
import { makeTestKey } from '../helpers/keys.js';
import { bigYaml, type CliDir, createCliDir, flatten, leftovers, randomFrom } from './cli-process.js';

export interface CrashFigures {
  points: number;
  /** Killed before the write: the file is byte-identical. */
  old: number;
  /** Killed after the rename: the new version. */
  new: number;
  tempFilesLeft: number;
  locksLeft: number;
  seed: number;
}

type Command = 'set' | 'updatekeys' | 'rotate';

async function measure(cli: CliDir, args: string[]): Promise<number> {
  const result = await cli.run(args);
  expect(result.code, result.stderr).toBe(0);
  return result.ms;
}

/** The one-line summary both crash test files print. */
export function formatCrashFigures(figures: CrashFigures): string {
  return `crash points survived ${figures.points} (old version ${figures.old}, new version ${figures.new}); temp files left ${figures.tempFilesLeft} (ciphertext only), locks left ${figures.locksLeft}; none blocked the next run`;
}

export async function runCrashPoints(points: number, services = 100, keysPerService = 20): Promise<CrashFigures> {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
  console.log(`crash seed ${seed} (replay with CRASH_SEED=${seed})`);
  const random = randomFrom(seed);
  const cli = await createCliDir('coffer-crash-');
  const other = await makeTestKey();
  const figures: CrashFigures = { points: 0, old: 0, new: 0, tempFilesLeft: 0, locksLeft: 0, seed };
  try {
    const { text, model } = bigYaml(services, keysPerService);
    await writeFile(cli.path('big.yaml'), text);
    const encrypt = await cli.run(['encrypt', '--in-place', '--age', cli.key.recipient, 'big.yaml']);
    expect(encrypt.code, encrypt.stderr).toBe(0);

    // How long each command takes uninterrupted: kill points are spread over that time.
    const duration: Record<Command, number> = {
      set: await measure(cli, ['set', 'big.yaml', 'svc0.k0', '--value', 'canary-measure']),
      updatekeys: await measure(cli, ['updatekeys', '--age', `${cli.key.recipient},${other.recipient}`, 'big.yaml']),
      rotate: await measure(cli, ['rotate', 'big.yaml']),
    };
    model.set('svc0.k0', 'canary-measure');
    let withOther = true;
    const seen = new Set<string>();

    for (let point = 0; point < points; point++) {
      const command: Command = (['set', 'updatekeys', 'rotate'] as const)[point % 3] ?? 'set';
      const path = `svc${Math.floor(random() * services)}.k${Math.floor(random() * keysPerService)}`;
      const value = `canary-crash-${point}-${Math.floor(random() * 1e9)}`;
      const recipients = withOther ? cli.key.recipient : `${cli.key.recipient},${other.recipient}`;
      const args =
        command === 'set' ? ['set', 'big.yaml', path, '--value', value] : command === 'updatekeys' ? ['updatekeys', '--age', recipients, 'big.yaml'] : ['rotate', 'big.yaml'];
      const before = await readFile(cli.path('big.yaml'), 'utf8');
      const beforeKey = (await cli.open('big.yaml')).dataKey;

      // Bias kill points towards the end of the run, where the lock is held and the write happens.
      const delay = duration[command] * (0.2 + random() * 0.95);
      const started = cli.start(args);
      await new Promise((resolve) => setTimeout(resolve, delay));
      started.child.kill('SIGKILL');
      await started.finished;
      figures.points += 1;

      const after = await readFile(cli.path('big.yaml'), 'utf8');
      const opened = await cli.open('big.yaml'); // throws on a torn file or a bad MAC
      expect(opened.macVerified).toBe(true);
      const values = flatten(opened.plain.toPlain()[0]);
      const newModel = new Map(model);
      if (command === 'set') newModel.set(path, value);
      if (after === before) {
        figures.old += 1;
      } else {
        figures.new += 1;
        expect(values).toEqual(newModel);
        if (command === 'updatekeys') expect(recipientPlanOf(opened.metadata).groups[0]?.age.sort()).toEqual(recipients.split(',').sort());
        if (command === 'rotate') expect(Buffer.from(opened.dataKey).equals(Buffer.from(beforeKey))).toBe(false);
      }

      // Leftovers of the killed run: a temp file holds only ciphertext; nothing blocks the next run.
      for (const name of await leftovers(cli.dir)) {
        if (seen.has(name)) continue;
        seen.add(name);
        if (name.includes('.coffer-tmp')) {
          figures.tempFilesLeft += 1;
          expect(await readFile(cli.path(name), 'utf8'), name).not.toMatch(/canary/);
        } else figures.locksLeft += 1;
      }
      const rerun = await cli.run(args, { timeoutMs: 20_000 });
      expect(rerun.code, rerun.stderr).toBe(0);
      if (command === 'set') model.set(path, value);
      if (command === 'updatekeys') withOther = !withOther;
      const reopened = await cli.open('big.yaml');
      expect(flatten(reopened.plain.toPlain()[0])).toEqual(model);
    }
    return figures;
  } finally {
    await cli.dispose();
  }
}
