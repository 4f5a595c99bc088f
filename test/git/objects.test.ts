// The native object reader against git itself: every object of a repository with a delta-
// compressed pack larger than one read window, and loose objects, read back byte for byte.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptObjectError, createObjectReader } from '../../src/git/objects.js';

const env = { PATH: process.env.PATH, HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@x' };
const git = (dir: string, args: string[], input?: string) => execFileSync('git', args, { cwd: dir, env, input, maxBuffer: 1 << 28 });

describe('createObjectReader', () => {
  let dir: string;
  let oids: { oid: string; type: string }[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-objects-'));
    git(dir, ['init', '-q', '-b', 'main']);
    // incompressible blobs of 300 KB: the pack is several read windows long and objects straddle them
    let text = '';
    for (let round = 0; round < 12; round++) {
      writeFileSync(join(dir, `blob-${round}.bin`), randomBytes(300 * 1024));
      text += `line ${round}: ${'x'.repeat(200)}\n`;
      writeFileSync(join(dir, 'grows.txt'), text);
      git(dir, ['add', '-A']);
      git(dir, ['commit', '-q', '-m', `round ${round}`]);
    }
    // deltas (grows.txt against its earlier versions, trees against trees), in one pack
    git(dir, ['repack', '-adq', '--depth=50', '--window=50']);
    writeFileSync(join(dir, 'loose.txt'), 'after the pack\n');
    git(dir, ['add', 'loose.txt']);
    git(dir, ['commit', '-q', '-m', 'loose']);
    oids = git(dir, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'])
      .toString()
      .trim()
      .split('\n')
      .map((line) => {
        const [oid, type] = line.split(' ');
        return { oid: oid!, type: type! };
      });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every object exactly as git does, packed (deltas included) and loose', () => {
    const pack = readdirSync(join(dir, '.git/objects/pack')).find((name) => name.endsWith('.pack'))!;
    expect(statSync(join(dir, '.git/objects/pack', pack)).size).toBeGreaterThan(3 * 1024 * 1024);
    const deltas = git(dir, ['verify-pack', '-v', join('.git/objects/pack', pack)]).toString();
    expect(deltas).toMatch(/chain length = [1-9]/);
    const reader = createObjectReader(join(dir, '.git'));
    try {
      for (const { oid, type } of oids) {
        const object = reader.read(oid);
        expect(object?.type, oid).toBe(type);
        expect(Buffer.compare(object!.data, git(dir, ['cat-file', type, oid])), `${type} ${oid}`).toBe(0);
      }
      expect(reader.read('0'.repeat(40))).toBeUndefined();
    } finally {
      reader.close();
    }
  });

  it('a truncated pack is a CorruptObjectError, not a crash or wrong bytes', () => {
    const copy = mkdtempSync(join(tmpdir(), 'coffer-objects-cut-'));
    try {
      execFileSync('cp', ['-a', join(dir, '.git'), copy]);
      const packDir = join(copy, '.git/objects/pack');
      const pack = join(packDir, readdirSync(packDir).find((name) => name.endsWith('.pack'))!);
      truncateSync(pack, Math.floor(statSync(pack).size / 2));
      const reader = createObjectReader(join(copy, '.git'));
      const outcomes = oids.map(({ oid }) => {
        try {
          return reader.read(oid) ? 'read' : 'missing';
        } catch (error) {
          return error instanceof CorruptObjectError ? 'corrupt' : `other: ${String(error)}`;
        }
      });
      reader.close();
      expect(outcomes).toContain('corrupt');
      expect(outcomes.filter((outcome) => outcome.startsWith('other'))).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
