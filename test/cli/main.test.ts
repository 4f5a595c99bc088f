import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_MODULES, loadCommandModules } from '../../src/cli/main.js';
import type { CliContext } from '../../src/cli/context.js';
import { runInProcess } from './sandbox.js';

function quietContext(): CliContext {
  return { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: process.cwd() };
}

describe('lazy command modules', () => {
  it('lists, for each module, exactly the commands it registers', async () => {
    for (const module of COMMAND_MODULES) {
      const program = buildProgram(quietContext(), [await module.load()]);
      expect(program.commands.map((command) => command.name())).toEqual(module.names);
    }
  });

  it('names every command once', () => {
    const names = COMMAND_MODULES.flatMap((module) => module.names);
    expect(new Set(names).size).toBe(names.length);
  });

  it('loads only the module of the command being run, none for --version, all otherwise', async () => {
    expect(await loadCommandModules(['get', 'file.yaml', 'a'])).toHaveLength(1);
    expect(await loadCommandModules(['exec-file', 'x'])).toHaveLength(1);
    expect(await loadCommandModules(['--version'])).toHaveLength(0);
    for (const argv of [[], ['--help'], ['help', 'get'], ['gte'], ['--json', 'get']]) expect(await loadCommandModules(argv)).toHaveLength(COMMAND_MODULES.length);
  });

  it('--help lists every command with its description; CMD --help shows its options', async () => {
    const help = await runInProcess(['--help'], process.cwd(), {});
    expect(help.code).toBe(0);
    for (const name of COMMAND_MODULES.flatMap((module) => module.names)) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b.* {2}\\S`, 'm'));
    const verify = await runInProcess(['verify', '--help'], process.cwd(), {});
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('--keyless');
    const nested = await runInProcess(['help', 'get'], process.cwd(), {});
    expect(nested.stdout).toContain('Usage: coffer get');
  });

  it('a misspelt command still gets a suggestion, and --version prints the version', async () => {
    const typo = await runInProcess(['verfy'], process.cwd(), {});
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("(Did you mean verify?)");
    const version = await runInProcess(['--version'], process.cwd(), {});
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
