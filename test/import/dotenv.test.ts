import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../../src/errors.js';
import { formatDotenv, parseDotenv } from '../../src/import/dotenv.js';

const values = (text: string) => Object.fromEntries(parseDotenv(text, '.env').entries.map((entry) => [entry.key, entry.value]));

describe('dotenv grammar', () => {
  it('reads the documented forms', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value',
      'export EXPORTED=yes',
      '  SPACED  =  trimmed value   # comment',
      'HASH=a#b',
      'EMPTY=',
      "SINGLE='keeps \\n and $HOME # literally'",
      'DOUBLE="tab\\tnew\\nline \\"quoted\\" \\\\ \\$HOME C:\\path"',
      'MULTI="first',
      'second"',
      'BACKTICK=`it\'s "both"`',
      'DOTTED.KEY-1=x',
      "AFTER='x'   # trailing comment",
    ].join('\n');
    expect(values(text)).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      SPACED: 'trimmed value',
      HASH: 'a',
      EMPTY: '',
      SINGLE: 'keeps \\n and $HOME # literally',
      DOUBLE: 'tab\tnew\nline "quoted" \\ $HOME C:\\path',
      MULTI: 'first\nsecond',
      BACKTICK: 'it\'s "both"',
      'DOTTED.KEY-1': 'x',
      AFTER: 'x',
    });
  });

  it('keeps order, reports lines, and lets the last duplicate win', () => {
    const parsed = parseDotenv('A=1\nB="x\ny"\nA=2\n', '.env');
    expect(parsed.entries.map((entry) => [entry.key, entry.value, entry.line])).toEqual([
      ['B', 'x\ny', 2],
      ['A', '2', 4],
    ]);
    expect(parsed.duplicates).toEqual([{ key: 'A', line: 4 }]);
  });

  it('accepts CRLF line ends and a byte-order mark', () => {
    expect(values('\uFEFFA=1\r\nB="2"\r\n')).toEqual({ A: '1', B: '2' });
  });

  it.each([
    ['no equals sign', 'SECRET_VALUE_hunter2', 1],
    ['unclosed quote', 'A=1\nB="hunter2', 2],
    ['text after the quote', "A='hunter2' trailing", 1],
    ['bad key', '1KEY=hunter2', 1],
  ])('rejects %s with the line and without the value', (_name, text, line) => {
    try {
      parseDotenv(text, 'app.env');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CofferError);
      const cofferError = error as CofferError;
      expect(cofferError.code).toBe('PARSE_ERROR');
      expect(cofferError.message).toContain(`app.env:${line}:`);
      expect(cofferError.message).not.toContain('hunter2');
    }
  });

  it('formats values so that they parse back exactly', () => {
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, fc.string({ unit: 'binary' })), { selector: ([name]) => name, maxLength: 8 }), (entries) => {
        const text = formatDotenv(entries);
        expect(parseDotenv(text, '.env').entries.map((entry) => [entry.key, entry.value])).toEqual(entries);
      }),
    );
  });

  it('writes simple values bare and the rest double-quoted', () => {
    expect(formatDotenv([['A', 'abc-1.2/x'], ['B', 'two words'], ['C', 'a\nb'], ['D', '$x "y"']])).toBe('A=abc-1.2/x\nB="two words"\nC="a\\nb"\nD="\\$x \\"y\\""\n');
  });
});
