// Runs every ```sh block of the README, in order, with the built `coffer` on PATH, in a temporary
// git repository with its own HOME (so the developer's keys are never used). Blocks marked
// ```sh dev are about developing coffer itself (npm ci, npm test): running them here would
// recurse, so their `npm run` scripts and paths are checked to exist instead.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

interface Block {
  info: string;
  body: string;
  line: number;
}

function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const open = /^```(\S.*)?$/.exec(lines[index] as string);
    if (!open) continue;
    const end = lines.indexOf('```', index + 1);
    if (end < 0) throw new Error(`README.md:${index + 1}: unclosed code block`);
    blocks.push({ info: (open[1] ?? '').trim(), body: lines.slice(index + 1, end).join('\n'), line: index + 1 });
    index = end;
  }
  return blocks;
}

const blocks = codeBlocks(readme);
const runnable = blocks.filter((block) => block.info === 'sh');
const development = blocks.filter((block) => block.info === 'sh dev');

describe('README code blocks', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'cli', 'coffer.js'))) throw new Error('dist/cli/coffer.js is missing: run `npm run build` (npm test does)');
    dir = await mkdtemp(join(tmpdir(), 'coffer-readme-'));
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'coffer'), `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'bin', 'coffer.cjs')}" "$@"\n`);
    await chmod(join(bin, 'coffer'), 0o755);
    const work = join(dir, 'work');
    await mkdir(work);
    env = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: join(dir, 'home'),
      USER: 'reader',
      GIT_AUTHOR_NAME: 'Reader',
      GIT_AUTHOR_EMAIL: 'reader@example.com',
      GIT_COMMITTER_NAME: 'Reader',
      GIT_COMMITTER_EMAIL: 'reader@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      GNUPGHOME: join(dir, 'gnupg'),
    };
    spawnSync('git', ['init', '-q', work], { env });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has runnable blocks (the quick start at least)', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(2);
    expect(runnable[0]?.body).toContain('coffer keygen');
    // every shell block is either run or a development block
    expect(blocks.filter((block) => /^(sh|bash|shell|console)\b/.test(block.info)).length).toBe(runnable.length + development.length);
  });

  // in order: later blocks build on what the earlier ones made
  it.each(runnable.map((block) => [block.line, block] as const))('README.md:%i runs without error', (_line, block) => {
    const result = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', block.body], { cwd: join(dir, 'work'), env, encoding: 'utf8', timeout: 60_000 });
    expect(result.status, `README.md:${block.line}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(0);
    expect(result.stderr).not.toContain('coffer: error');
  });

  it('the quick start produced what it promises', () => {
    const app = join(dir, 'work', 'my-app');
    expect(existsSync(join(app, '.env'))).toBe(false);
    expect(readFileSync(join(app, '.gitignore'), 'utf8')).toContain('/.env');
    const encrypted = readFileSync(join(app, 'secrets', 'dev', 'app.env'), 'utf8');
    expect(encrypted).toContain('sops_mac=');
    expect(encrypted).not.toContain('abc123');
    const get = spawnSync('coffer', ['get', 'secrets/dev/app.env', 'DB_PASSWORD'], { cwd: app, env, encoding: 'utf8' });
    expect(get.stdout).toBe('new-password');
  });

  it('development blocks name npm scripts and paths that exist', () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(development.length).toBeGreaterThan(0);
    for (const block of development) {
      for (const match of block.body.matchAll(/npm run ([\w:-]+)/g)) expect(Object.keys(scripts), `README.md:${block.line}`).toContain(match[1]);
      for (const match of block.body.matchAll(/^(\.[\w/.-]+)/gm)) expect(existsSync(join(root, match[1] as string)), `README.md:${block.line}: ${match[1]}`).toBe(true);
    }
  });
});
