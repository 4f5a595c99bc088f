import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseEditor, editInPrivateDir } from '../../src/io/editor.js';
import { rejection } from '../helpers/errors.js';

const fakeEditor = fileURLToPath(new URL('./fixtures/fake-editor.mjs', import.meta.url));
const editorCommand = `'${process.execPath}' '${fakeEditor}'`;
const content = 'password: hunter2\n';

interface EditorRun {
  argv: string[];
  file: string;
  content: string;
  fileMode: number;
  dirMode: number;
}

let outside: string;
let report: string;
beforeEach(async () => {
  outside = await mkdtemp(join(tmpdir(), 'coffer-editor-'));
  report = join(outside, 'report.jsonl');
});
afterEach(async () => {
  await rm(outside, { recursive: true, force: true });
});

function editorEnv(mode: string, editor = editorCommand): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, EDITOR: editor, FAKE_EDITOR_MODE: mode, FAKE_EDITOR_REPORT: report };
}

async function editorRuns(): Promise<EditorRun[]> {
  const text = await readFile(report, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as EditorRun);
}

describe('editInPrivateDir', () => {
  it('returns the edited text; the file lived 0600 in a 0700 dir (on /dev/shm) that is gone afterwards', async () => {
    const edited = await editInPrivateDir({ fileName: 'config/secrets.yaml', content, env: editorEnv('rewrite') });
    expect(edited).toBe(`${content}added: true\n`);
    const [run] = await editorRuns();
    expect(run).toMatchObject({ content, fileMode: 0o600, dirMode: 0o700 });
    expect(run!.file.endsWith('/secrets.yaml')).toBe(true);
    if (process.platform === 'linux' && existsSync('/dev/shm')) expect(run!.file.startsWith('/dev/shm/')).toBe(true);
    expect(run!.argv).toEqual([run!.file]); // only the path: the content is never an argument
    expect(existsSync(run!.file)).toBe(false);
  });

  it('returns undefined when the file is saved unchanged', async () => {
    expect(await editInPrivateDir({ fileName: 's.yaml', content, env: editorEnv('unchanged') })).toBeUndefined();
    const [run] = await editorRuns();
    expect(existsSync(run!.file)).toBe(false);
  });

  it('fails with EDITOR_FAILED when the editor exits non-zero, and removes the dir', async () => {
    const error = await rejection(editInPrivateDir({ fileName: 's.yaml', content, env: editorEnv('fail') }));
    expect(error.code).toBe('EDITOR_FAILED');
    expect(error.message).toContain('exited with code 1');
    expect(error.message).not.toContain('hunter2');
    const [run] = await editorRuns();
    expect(existsSync(run!.file)).toBe(false);
  });

  it('fails with EDITOR_FAILED when the editor does not exist', async () => {
    const env = { PATH: process.env.PATH, EDITOR: 'coffer-no-such-editor' };
    expect((await rejection(editInPrivateDir({ fileName: 's.yaml', content, env }))).message).toContain('not found');
  });

  it('prefers $VISUAL over $EDITOR and passes the arguments in it', async () => {
    const env = { ...editorEnv('rewrite', 'false'), VISUAL: `${editorCommand} --wait` };
    expect(await editInPrivateDir({ fileName: 's.yaml', content, env })).toContain('added: true');
    const [run] = await editorRuns();
    expect(run!.argv).toEqual(['--wait', run!.file]);
    expect(chooseEditor({})).toBe('vi');
  });

  it('re-opens the editor on invalid text when the user agrees, keeping the invalid edit', async () => {
    const problems: string[] = [];
    const edited = await editInPrivateDir({
      fileName: 's.yaml',
      content,
      env: editorEnv('invalid-then-valid'),
      onInvalid: (text) => (text.includes('[valid') ? 'yaml: unclosed flow sequence at line 1' : undefined),
      confirmReopen: async (problem) => {
        problems.push(problem);
        return true;
      },
    });
    expect(edited).toBe('fixed: true\n');
    expect(problems).toEqual(['yaml: unclosed flow sequence at line 1']);
    const runs = await editorRuns();
    expect(runs.map((run) => run.content)).toEqual([content, 'not: [valid\n']);
    expect(existsSync(runs[0]!.file)).toBe(false);
  });

  it('aborts with EDITOR_FAILED on invalid text when the user declines', async () => {
    const error = await rejection(
      editInPrivateDir({
        fileName: 's.yaml',
        content,
        env: editorEnv('invalid'),
        onInvalid: () => 'yaml: bad indentation at line 1',
        confirmReopen: async () => false,
      }),
    );
    expect(error.code).toBe('EDITOR_FAILED');
    expect(error.message).toContain('bad indentation');
    expect(await editorRuns()).toHaveLength(1);
  });

  it('aborts without asking when there is no terminal', async () => {
    expect(process.stdin.isTTY).not.toBe(true);
    const error = await rejection(
      editInPrivateDir({ fileName: 's.yaml', content, env: editorEnv('invalid'), onInvalid: () => 'invalid' }),
    );
    expect(error.code).toBe('EDITOR_FAILED');
    const runs = await editorRuns();
    expect(runs).toHaveLength(1);
    expect(existsSync(runs[0]!.file)).toBe(false);
  });
});
