// .pre-commit-hooks.yaml is what pre-commit users copy three lines for: every hook in it must run
// a command coffer accepts, and block a bad commit the way `coffer hook install` does.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createSandbox, type Sandbox } from '../cli/sandbox.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hooks = parse(readFileSync(join(root, '.pre-commit-hooks.yaml'), 'utf8')) as { id: string; entry: string; language: string; pass_filenames: boolean }[];

describe('.pre-commit-hooks.yaml', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await createSandbox();
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: sb.dir });
    await sb.write('coffer.yaml', `version: 1\nrecipients:\n  me: { age: ${sb.recipient} }\nenvironments:\n  prod:\n    files: ["secrets/**"]\n    readers: [me]\n`);
    mkdirSync(sb.path('secrets'));
    await sb.write('secrets/leak.env', 'TOKEN=plaintext-canary-789\n');
    execFileSync('git', ['add', '-A'], { cwd: sb.dir });
  });
  afterAll(() => sb?.dispose());

  it('has unique ids, each a node hook that takes no file names', () => {
    expect(hooks.map((hook) => hook.id)).toEqual(['coffer-verify', 'coffer-verify-keyless']);
    for (const hook of hooks) expect(hook).toMatchObject({ language: 'node', pass_filenames: false });
  });

  it.each(hooks.map((hook) => [hook.id, hook.entry]))('%s runs `%s`, which blocks a staged plaintext secret', async (_id, entry) => {
    const [program, ...argv] = entry.split(' ');
    expect(program).toBe('coffer');
    const result = await sb.run(argv);
    expect(result.code).toBe(3);
    expect(result.stdout + result.stderr).toContain('[not-encrypted]');
  });
});
