// docs/commands/*.md are generated from the commander definitions: this fails when they are stale
// (fix: `node scripts/gen-docs.mjs`).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const generate = (...args: string[]) => spawnSync(process.execPath, [join(root, 'scripts', 'gen-docs.mjs'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('docs/commands', () => {
  it('is up to date with the commander definitions', () => {
    const result = generate('--check');
    expect(result.status, result.stderr).toBe(0);
  });

  it('--check notices a changed, a missing and an extra page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-docs-'));
    try {
      expect(generate('--out', dir).status).toBe(0);
      expect(generate('--out', dir, '--check').status).toBe(0);
      const page = join(dir, 'export.md');
      const text = await readFile(page, 'utf8');
      expect(text).toContain('| `-f, --format <format>` | output format (choices: env, json, yaml, k8s-secret; required) |');
      await writeFile(page, text.replace('output format', 'the format'));
      await writeFile(join(dir, 'gone.md'), '# gone\n');
      const stale = generate('--out', dir, '--check');
      expect(stale.status).toBe(1);
      expect(stale.stderr).toContain('export.md, gone.md (no such command)');
      await rm(join(dir, 'import.md'));
      expect(generate('--out', dir, '--check').stderr).toContain('import.md');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
