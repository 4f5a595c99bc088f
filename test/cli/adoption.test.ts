// doctor, completion, stats and types: the first-hour commands.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from './sandbox.js';

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.dispose();
});

async function cofferYaml(recipient: string, extra = '') {
  await box.write('coffer.yaml', `version: 1\nrecipients:\n  alice:\n    age: ${recipient}\nenvironments:\n  dev:\n    files: [secrets/*.yaml]\n    readers: [alice]\n${extra}`);
}

describe('coffer doctor', () => {
  it('says what is missing, exits 3 when a check fails', async () => {
    const noKey = await box.run(['doctor', '--json'], { env: { SOPS_AGE_KEY_FILE: box.path('missing.txt') } });
    expect(noKey.code).toBe(3);
    const report = JSON.parse(noKey.stdout);
    expect(report.ok).toBe(false);
    expect(report.checks.find((item: { check: string }) => item.check === 'keys')).toMatchObject({ status: 'fail', message: expect.stringContaining('missing.txt'), fix: expect.stringContaining('--identity') });
    expect(report.checks.find((item: { check: string }) => item.check === 'policy')).toMatchObject({ status: 'warn', fix: 'coffer init' });
  });

  it('finds drift between coffer.yaml and the files, and passes once fixed', async () => {
    execFileSync('git', ['init', '-q', box.dir]);
    await cofferYaml(box.recipient);
    execFileSync('mkdir', ['-p', box.path('secrets')]);
    const other = await box.run(['keygen', '-o', 'other.txt']);
    const otherRecipient = /age1[0-9a-z]+/.exec(other.stderr)?.[0] as string;
    await box.write('secrets/app.yaml', 'token: x\n');
    expect((await box.run(['encrypt', '-i', 'secrets/app.yaml', '--age', `${box.recipient},${otherRecipient}`])).code).toBe(0);
    const drift = await box.run(['doctor']);
    expect(drift.code).toBe(3);
    expect(drift.stdout).toMatch(/FAIL {2}drift: 1 file\(s\) wrapped for other recipients than coffer.yaml says: secrets\/app.yaml\n {6}fix: coffer updatekeys --all/);
    expect(drift.stdout).toContain('OK    access: you are alice in coffer.yaml');
    expect(drift.stdout).toContain('fix: coffer git-setup');
    expect(drift.stdout).not.toContain('\u001b['); // not a terminal: no colour
    expect((await box.run(['updatekeys', '--all', '--yes'])).code).toBe(0);
    const fixed = await box.run(['doctor', '--quiet']);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.stdout).not.toContain('OK ');
  });
});

describe('coffer completion', () => {
  it('bash: valid syntax, completes commands, subcommands and flags from the program', async () => {
    const result = await box.run(['completion', 'bash']);
    expect(result.code).toBe(0);
    await writeFile(box.path('coffer.bash'), result.stdout);
    execFileSync('bash', ['-n', box.path('coffer.bash')]);
    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `source "$1"; COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _coffer; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', box.path('coffer.bash')], { cwd: box.dir })
        .toString()
        .trim()
        .split('\n');
    expect(complete(['coffer', 'imp'])).toEqual(['import']);
    expect(complete(['coffer', 'export', '--for'])).toEqual(['--format']);
    expect(complete(['coffer', 'hook', 'ins'])).toEqual(['install']);
    expect(complete(['coffer', 'doctor', '--j'])).toEqual(['--json']);
  });

  it('zsh and fish name every command; an unknown shell is a usage error', async () => {
    const zsh = await box.run(['completion', 'zsh']);
    const fish = await box.run(['completion', 'fish']);
    for (const name of ['import', 'export', 'doctor', 'stats', 'updatekeys']) {
      expect(zsh.stdout).toContain(`'${name}:`);
      expect(fish.stdout).toContain(`-a ${name} -d`);
    }
    expect(zsh.stdout.startsWith('#compdef coffer')).toBe(true);
    expect(fish.stdout).toContain('complete -c coffer -n "__fish_seen_subcommand_from export" -l format -s f -r');
    expect((await box.run(['completion', 'tcsh'])).code).toBe(2);
  });
});

describe('coffer stats', () => {
  it('counts files, values and recipients from metadata, and value ages from git history', async () => {
    execFileSync('git', ['init', '-q', box.dir]);
    await cofferYaml(box.recipient);
    execFileSync('mkdir', ['-p', box.path('secrets')]);
    await box.write('secrets/a.yaml', 'one: 1\ntwo: 2\nplain_unencrypted: x\n');
    await box.write('secrets/b.yaml', 'three: 3\n');
    for (const file of ['secrets/a.yaml', 'secrets/b.yaml']) expect((await box.run(['encrypt', '-i', file, '--age', box.recipient])).code).toBe(0);
    execFileSync('git', ['-C', box.dir, 'add', '.']);
    execFileSync('git', ['-C', box.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'secrets'], {
      env: { ...process.env, GIT_AUTHOR_DATE: '2020-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2020-01-01T00:00:00Z' },
    });
    const result = await box.run(['stats', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const stats = JSON.parse(result.stdout);
    expect(stats.totals).toMatchObject({ files: 2, values: 4, encrypted: 3, recipients: 1 });
    expect(stats.totals.oldestValue.days).toBeGreaterThan(365 * 5);
    expect(stats.files[0].recipients).toEqual(['alice']);
    const text = await box.run(['stats']);
    expect(text.stdout).toContain('files       2 encrypted');
    expect(text.stdout).toContain('recipients  1 (alice)');
  });
});

describe('coffer types', () => {
  it('writes a .d.ts from the schema coffer.yaml binds, and from --schema', async () => {
    await cofferYaml(box.recipient, '    schema: schemas/app.json\n');
    execFileSync('mkdir', ['-p', box.path('secrets'), box.path('schemas')]);
    await box.write(
      'schemas/app.json',
      JSON.stringify({
        type: 'object',
        required: ['db'],
        additionalProperties: false,
        properties: { db: { type: 'object', required: ['password'], additionalProperties: false, properties: { password: { type: 'string', description: 'primary', 'x-coffer': { kind: 'password' } }, port: { type: 'integer' } } }, mode: { enum: ['a', 'b'] } },
      }),
    );
    await box.write('secrets/app.yaml', 'db:\n    password: x\n');
    expect((await box.run(['encrypt', '-i', 'secrets/app.yaml', '--age', box.recipient])).code).toBe(0);
    const result = await box.run(['types', 'secrets/app.yaml', '-o', 'secrets.d.ts']);
    expect(result.code, result.stderr).toBe(0);
    const text = await box.read('secrets.d.ts');
    expect(text).toContain('export interface Secrets {\n  db: {\n    /**\n     * primary\n     * coffer kind: password\n     */\n    password: string;\n    port?: number;\n  };\n  mode?: "a" | "b";\n}\n');
    const direct = await box.run(['types', '--schema', 'schemas/app.json', '--name', 'App']);
    expect(direct.stdout).toContain('export interface App {');
    const none = await box.run(['types', 'other.yaml']);
    expect(none.code).toBe(2);
  });
});
