// The runner protocol as the runner documents it: workflow-command escaping, heredoc file
// commands read back the way the runner parses them, INPUT_* names, and the masks of a value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Renderings, masksOf } from '../../action/src/masks.js';
import { escapeData, escapeProperty, formatCommand, formatFileCommand, readBooleanInput, readInput, type Runner } from '../../action/src/runner.js';
import { parseFileCommands, unescapeData } from './runner-env.js';

const runnerWith = (env: Record<string, string>): Runner => ({ env, write: () => undefined });

describe('workflow commands', () => {
  it('formats annotations as the docs show them, escaping %, CR and LF in data and also : and , in properties', () => {
    expect(formatCommand('error', { file: 'app.js', line: 1 }, 'Missing semicolon')).toBe('::error file=app.js,line=1::Missing semicolon');
    expect(formatCommand('warning', { title: 'a: b, c', file: undefined }, '50% done\r\nnext')).toBe('::warning title=a%3A b%2C c::50%25 done%0D%0Anext');
    expect(formatCommand('add-mask', {}, 'x')).toBe('::add-mask::x');
    expect(escapeProperty('%:,\n')).toBe('%25%3A%2C%0A');
  });

  it('escapes so that the runner unescapes every string back exactly', () => {
    fc.assert(fc.property(fc.string(), (text) => unescapeData(escapeData(text)) === text && !escapeData(text).includes('\n')));
  });
});

describe('file commands', () => {
  it('writes name<<delimiter heredocs that the runner reads back exactly, multi-line values included', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,20}$/), fc.string(), (name, value) => {
        fc.pre(!value.includes('\r') && !value.includes('ghadelimiter_'));
        expect(parseFileCommands(formatFileCommand(name, value))).toEqual(new Map([[name, value]]));
      }),
    );
    expect(formatFileCommand('KEY', 'a\nb', 'ghadelimiter_x')).toBe('KEY<<ghadelimiter_x\na\nb\nghadelimiter_x\n');
  });

  it('refuses a value that contains its delimiter (it would end the record early)', () => {
    expect(() => formatFileCommand('KEY', 'x\nghadelimiter_d\nINJECTED=1', 'ghadelimiter_d')).toThrow(/delimiter/);
  });
});

describe('inputs', () => {
  it('reads INPUT_<NAME> in upper case with spaces as _, trimmed; hyphens stay', () => {
    const runner = runnerWith({ 'INPUT_EXPORT-TO': ' env \n', INPUT_MY_INPUT: 'x' });
    expect(readInput(runner, 'export-to')).toBe('env');
    expect(readInput(runner, 'my input')).toBe('x');
    expect(readInput(runner, 'absent')).toBe('');
  });

  it('reads booleans as the YAML 1.2 core schema spells them, and rejects anything else', () => {
    expect(readBooleanInput(runnerWith({ INPUT_FLAG: 'False' }), 'flag', true)).toBe(false);
    expect(readBooleanInput(runnerWith({ INPUT_FLAG: 'TRUE' }), 'flag', false)).toBe(true);
    expect(readBooleanInput(runnerWith({}), 'flag', true)).toBe(true);
    expect(() => readBooleanInput(runnerWith({ INPUT_FLAG: 'yes' }), 'flag', true)).toThrow(/input flag must be true or false/);
  });
});

describe('masks of a value', () => {
  it('mask each line of a multi-line value, its JSON-escaped form and its base64', () => {
    const masks = masksOf('line one\n  line "two"\n');
    expect(masks).toEqual(expect.arrayContaining(['line one\n  line "two"\n', 'line one', 'line "two"', 'line one\\n  line \\"two\\"\\n', Buffer.from('line one\n  line "two"\n').toString('base64')]));
    expect(masks).not.toContain('');
    expect(masksOf('')).toEqual([]);
  });

  it('cover the value inside any longer base64 string, at every byte offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.string({ minLength: 12, maxLength: 60 }), fc.uint8Array({ maxLength: 8 }), (before, value, after) => {
        const encoded = Buffer.concat([before, Buffer.from(value), after]).toString('base64');
        return base64Renderings(value).some((fragment) => encoded.includes(fragment));
      }),
    );
  });
});
