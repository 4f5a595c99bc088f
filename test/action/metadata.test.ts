// action/action.yml against the action metadata rules (docs.github.com "Metadata syntax for GitHub
// Actions"): required fields, a node24 runtime with main and post, and inputs and outputs that
// match what the code reads and sets, read out of action/src. The example workflows only pass inputs
// that exist.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ACTION = join(import.meta.dirname, '..', '..', 'action');
const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples', 'workflows');
const metadata = parse(readFileSync(join(ACTION, 'action.yml'), 'utf8')) as Record<string, unknown>;
const inputs = (metadata['inputs'] ?? {}) as Record<string, Record<string, unknown>>;
const outputs = (metadata['outputs'] ?? {}) as Record<string, Record<string, unknown>>;
const sources = readdirSync(join(ACTION, 'src'))
  // runner.ts is the protocol itself (readBooleanInput passes its parameter on)
  .filter((name) => name.endsWith('.ts') && name !== 'runner.ts')
  .map((name) => readFileSync(join(ACTION, 'src', name), 'utf8'))
  .join('\n');

/** Names passed as string literals to `call(runner, 'name'`; fails if any other call passes something but `dynamic`. */
function literalNames(call: string, dynamic: readonly string[] = []): Set<string> {
  const calls = sources.match(new RegExp(`\\b${call}\\(runner, `, 'g')) ?? [];
  const names = [...sources.matchAll(new RegExp(`\\b${call}\\(runner, '([^']+)'`, 'g'))].map((match) => match[1]!);
  const allowed = dynamic.reduce((count, text) => count + sources.split(`${call}(runner, ${text}`).length - 1, 0);
  expect(names.length + allowed, `every ${call} call names it with a string literal`).toBe(calls.length);
  return new Set(names);
}

describe('action.yml', () => {
  it('has the required fields and only known top-level keys', () => {
    expect(typeof metadata['name']).toBe('string');
    expect(typeof metadata['description']).toBe('string');
    expect(metadata['runs']).toBeTypeOf('object');
    const known = new Set(['name', 'author', 'description', 'inputs', 'outputs', 'runs', 'branding']);
    expect(Object.keys(metadata).filter((key) => !known.has(key))).toEqual([]);
  });

  it('runs on node24 with main and post entries that exist', () => {
    const runs = metadata['runs'] as Record<string, unknown>;
    expect(runs['using']).toBe('node24');
    for (const entry of ['main', 'post']) {
      expect(typeof runs[entry]).toBe('string');
      expect(existsSync(join(ACTION, runs[entry] as string)), `${entry}: ${String(runs[entry])}`).toBe(true);
    }
    expect(readdirSync(join(ACTION, 'dist'))).toEqual(['index.js']);
  });

  it('declares every input the code reads, and the code reads every declared input', () => {
    const used = new Set([...literalNames('readInput'), ...literalNames('readBooleanInput')]);
    expect([...used].sort()).toEqual(Object.keys(inputs).sort());
  });

  it('describes every input; defaults are strings and required is a boolean', () => {
    for (const [name, input] of Object.entries(inputs)) {
      expect(input['description'], name).toBeTypeOf('string');
      if ('default' in input) expect(input['default'], name).toBeTypeOf('string');
      if ('required' in input) expect(input['required'], name).toBeTypeOf('boolean');
      expect(Object.keys(input).filter((key) => !['description', 'required', 'default', 'deprecationMessage'].includes(key)), name).toEqual([]);
    }
  });

  it('declares every fixed output the code sets, and sets every declared output', () => {
    // the one dynamic output: each exported value under its own name (undeclared outputs work for node actions)
    const set = literalNames('setOutput', ['item.name, item.value']);
    expect([...set].sort()).toEqual(Object.keys(outputs).sort());
    for (const [name, output] of Object.entries(outputs)) expect(output['description'], name).toBeTypeOf('string');
  });

  it('reads back only state it saved', () => {
    for (const name of literalNames('readState')) expect(literalNames('saveState')).toContain(name);
  });
});

describe('example workflows', () => {
  const workflows = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yml'));

  it('exist for every mode', () => {
    const modes = workflows.flatMap((name) => {
      const steps = Object.values((parse(readFileSync(join(EXAMPLES, name), 'utf8')) as { jobs: Record<string, { steps: Record<string, unknown>[] }> }).jobs).flatMap((job) => job.steps);
      return steps.filter((step) => String(step['uses']).includes('/action@')).map((step) => ((step['with'] as Record<string, string>)['mode'] ?? 'decrypt'));
    });
    expect(new Set(modes)).toEqual(new Set(['decrypt', 'verify', 'rotate']));
  });

  it.each(workflows)('%s passes only declared inputs', (name) => {
    const workflow = parse(readFileSync(join(EXAMPLES, name), 'utf8')) as { jobs: Record<string, { steps: Record<string, unknown>[] }> };
    for (const job of Object.values(workflow.jobs)) {
      for (const step of job.steps) {
        if (!String(step['uses']).includes('/action@')) continue;
        for (const input of Object.keys((step['with'] ?? {}) as object)) expect(Object.keys(inputs), `${name}: ${input}`).toContain(input);
      }
    }
  });
});

describe('the README section', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## GitHub Action'), readme.indexOf('\n## ', readme.indexOf('## GitHub Action') + 1));
  const blocks = [...section.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);

  it('has a YAML example per mode, each passing only declared inputs', () => {
    const modes = new Set<string>();
    for (const block of blocks) {
      const steps = parse(block) as Record<string, unknown>[];
      for (const step of steps.filter((item) => String(item['uses']).includes('/action@'))) {
        const given = (step['with'] ?? {}) as Record<string, string>;
        modes.add(given['mode'] ?? 'decrypt');
        for (const input of Object.keys(given)) expect(Object.keys(inputs), input).toContain(input);
      }
    }
    expect(modes).toEqual(new Set(['decrypt', 'verify', 'rotate']));
  });
});
