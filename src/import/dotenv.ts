// The dotenv grammar coffer reads when importing a plain `.env` file (docs/dotenv.md), and the
// writer that `coffer export --format env` uses so that an export parses back to the same values.
// SOPS's own dotenv store (format/stores/dotenv.ts) is a different, simpler format and stays as is.
import { CofferError } from '../errors.js';

export interface DotenvEntry {
  key: string;
  value: string;
  /** 1-based line where the entry starts. */
  line: number;
  /** The value was quoted (single, double or backtick). */
  quoted: boolean;
}

export interface ParsedDotenv {
  entries: DotenvEntry[];
  /** Keys set twice (the last one wins, as dotenv's override does), with the line of each repeat. */
  duplicates: { key: string; line: number }[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*/;
const DOUBLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

function syntaxError(file: string, line: number, what: string): CofferError {
  // Never echo the line: it may hold a secret.
  return new CofferError('PARSE_ERROR', `${file}:${line}: ${what}`, {
    hints: ['see docs/dotenv.md for the .env grammar coffer reads'],
    data: { file, line },
  });
}

/** Parses a plain `.env` file into ordered entries; never puts a value into an error. */
export function parseDotenv(text: string, file: string): ParsedDotenv {
  const source = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const entries: DotenvEntry[] = [];
  const duplicates: ParsedDotenv['duplicates'] = [];
  const seen = new Map<string, number>();
  let position = 0;
  let line = 1;
  const length = source.length;

  const skipSpaces = () => {
    while (position < length && (source[position] === ' ' || source[position] === '\t')) position++;
  };
  /** After a value: spaces, then an optional comment, then the end of the line. */
  const finishLine = (entryLine: number) => {
    skipSpaces();
    if (source[position] === '#') {
      while (position < length && source[position] !== '\n') position++;
    }
    if (position < length && source[position] !== '\n') throw syntaxError(file, entryLine, 'unexpected text after the closing quote');
    if (position < length) {
      position++;
      line++;
    }
  };

  while (position < length) {
    skipSpaces();
    const char = source[position];
    if (char === '\n') {
      position++;
      line++;
      continue;
    }
    if (char === '#') {
      while (position < length && source[position] !== '\n') position++;
      continue;
    }
    const entryLine = line;
    if (source.startsWith('export', position) && (source[position + 6] === ' ' || source[position + 6] === '\t')) {
      position += 6;
      skipSpaces();
    }
    const key = KEY.exec(source.slice(position, position + 256))?.[0];
    if (!key) throw syntaxError(file, entryLine, 'expected KEY=value (a key starts with a letter or _)');
    position += key.length;
    skipSpaces();
    if (source[position] !== '=') throw syntaxError(file, entryLine, "expected KEY=value (no = after the name; a line without = may be a pasted secret, so it is not shown)");
    position++;
    skipSpaces();

    let value: string;
    let quoted = false;
    const quote = source[position];
    if (quote === '"' || quote === "'" || quote === '`') {
      quoted = true;
      position++;
      let collected = '';
      for (;;) {
        if (position >= length) throw syntaxError(file, entryLine, `${key}: the quoted value is never closed`);
        const next = source[position] as string;
        if (next === quote) {
          position++;
          break;
        }
        if (next === '\n') line++;
        if (quote === '"' && next === '\\' && position + 1 < length) {
          const escaped = source[position + 1] as string;
          const replacement = DOUBLE_ESCAPES[escaped];
          // An unknown escape keeps its backslash (so Windows paths survive).
          collected += replacement ?? `\\${escaped}`;
          if (escaped === '\n') line++;
          position += 2;
          continue;
        }
        collected += next;
        position++;
      }
      value = collected;
      finishLine(entryLine);
    } else {
      const end = source.indexOf('\n', position);
      const rest = source.slice(position, end < 0 ? length : end);
      // As in dotenv, an unquoted value ends at the first # (quote a value that contains one).
      const comment = rest.indexOf('#');
      value = (comment < 0 ? rest : rest.slice(0, comment)).trimEnd();
      position = end < 0 ? length : end + 1;
      if (end >= 0) line++;
    }
    const previous = seen.get(key);
    if (previous !== undefined) {
      duplicates.push({ key, line: entryLine });
      entries.splice(previous, 1);
      for (const [other, index] of seen) if (index > previous) seen.set(other, index - 1);
    }
    seen.set(key, entries.length);
    entries.push({ key, value, line: entryLine, quoted });
  }
  return { entries, duplicates };
}

const BARE_VALUE = /^[A-Za-z0-9_./:@%+,=^~-]*$/; // no #, quotes, spaces or backslashes

/** One `KEY=value` line that `parseDotenv` reads back as exactly `value`. */
export function formatDotenvEntry(key: string, value: string): string {
  if (!KEY.test(key) || KEY.exec(key)?.[0] !== key) {
    throw new CofferError('UNSUPPORTED_VALUE', `key "${key.slice(0, 40)}" cannot be a .env variable name`, {
      hints: ['a .env key starts with a letter or _ and holds letters, digits, _, . and -', 'export as --format json or yaml instead'],
    });
  }
  if (BARE_VALUE.test(value)) return `${key}=${value}`;
  const escaped = value.replace(/[\\"\n\r\t$]/g, (char) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', $: '\\$' })[char] as string);
  return `${key}="${escaped}"`;
}

/** A whole `.env` text for string values, in order. */
export function formatDotenv(entries: Iterable<[string, string]>): string {
  let text = '';
  for (const [key, value] of entries) text += `${formatDotenvEntry(key, value)}\n`;
  return text;
}
