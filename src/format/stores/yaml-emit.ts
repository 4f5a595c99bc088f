// Writing YAML text the way SOPS (Go yaml.v3) does: block style, plain scalars where they read
// back as the same string, double quotes otherwise, literal blocks for multi-line strings.
import { CofferError } from '../../errors.js';
import { type PlainValue, type ScalarValue, TimeValue } from '../tree.js';
import { formatFloat } from '../values.js';

export interface YamlLayout {
  /** Spaces per nesting level. */
  indent: number;
  /** Whether a list under a key is indented (`key:\n    - a`) or not (`key:\n- a`). */
  indentSeq: boolean;
}

export interface ScalarContext {
  /** Inside `[...]`/`{...}`: flow indicators must be quoted. */
  flow: boolean;
  /** Column of a literal block's content, or -1 when a literal block cannot be written here. */
  blockIndent: number;
}

// Plain text that a YAML 1.1 or 1.2 reader would resolve to something other than a string.
const NON_STRING =
  /^(?:~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|<<|=)$/;
// ints and floats (1.1 and 1.2 forms, sexagesimal), and timestamps
const NUMBER_LIKE =
  /^(?:[-+]?(?:0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?)|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?)$/;
const UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ud800-\udfff]/;
const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`]/;

/** Whether a string can be written as a plain scalar and read back as the same string. */
export function isPlainSafe(text: string, flow: boolean): boolean {
  if (text === '' || text.trim() !== text || UNSAFE_CHAR.test(text)) return false;
  if (NON_STRING.test(text) || NUMBER_LIKE.test(text)) return false;
  if (INDICATOR_START.test(text)) {
    // `-`, `?` and `:` may start a plain scalar when followed by a non-space
    if (!/^[-?:][^\s,[\]{}]/.test(text)) return false;
    if (text.startsWith('---') || text.startsWith('...')) return false;
  }
  if (text.includes(': ') || text.includes(' #') || text.endsWith(':')) return false;
  if (flow && /[,[\]{}]/.test(text)) return false;
  return true;
}

/** A YAML double-quoted scalar (JSON escapes are valid YAML; a few more characters are escaped). */
export function quoteYamlString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u009f\u2028\u2029\ufeff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function canWriteLiteral(text: string): boolean {
  if (!text.includes('\n') || /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ud800-\udfff]/.test(text)) return false;
  const lines = text.split('\n');
  const first = lines.find((line) => line !== '');
  if (first === undefined || /^[ \t]/.test(first)) return false;
  // whitespace-only lines before the first content line would change the detected indentation
  for (const line of lines) {
    if (line === first) break;
    if (line !== '') return false;
  }
  return true;
}

/** A literal block (`|`, `|-`, `|+`) without its final line break. */
function formatLiteral(text: string, column: number): string {
  const trailing = text.length - text.replace(/\n+$/, '').length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = trailing === 1 ? text.slice(0, -1) : trailing === 0 ? text : text.slice(0, -1);
  const pad = ' '.repeat(column);
  return `|${chomp}${body
    .split('\n')
    .map((line) => (line === '' ? '\n' : `\n${pad}${line}`))
    .join('')}`;
}

export function formatYamlFloat(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (value === Number.POSITIVE_INFINITY) return '.inf';
  if (value === Number.NEGATIVE_INFINITY) return '-.inf';
  const text = formatFloat(value);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/** The text of a scalar; a literal block ends without its final line break. */
export function formatYamlScalar(value: ScalarValue, context: ScalarContext): string {
  if (typeof value === 'string') {
    if (isPlainSafe(value, context.flow)) return value;
    if (!context.flow && context.blockIndent >= 0 && canWriteLiteral(value)) return formatLiteral(value, context.blockIndent);
    return quoteYamlString(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return formatYamlFloat(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return 'null';
  if (value instanceof TimeValue) return isPlainSafeTime(value.text, context.flow) ? value.text : quoteYamlString(value.text);
  throw new CofferError('UNSUPPORTED_VALUE', 'raw bytes can only be stored in a binary file');
}

function isPlainSafeTime(text: string, flow: boolean): boolean {
  return /^[0-9][0-9TtZz:.+\- ]*$/.test(text) && !text.endsWith(' ') && !text.includes(': ') && !(flow && /[,[\]{}]/.test(text));
}

export function formatYamlKey(key: string): string {
  return isPlainSafe(key, false) && !key.includes('\n') ? key : quoteYamlString(key);
}

/** yaml.v3's next indentation: the next multiple of the indent width. */
export function nextIndent(column: number, layout: YamlLayout): number {
  return layout.indent * Math.floor((column + layout.indent) / layout.indent);
}

function isEmptyCollection(value: PlainValue): boolean {
  return (value instanceof Map && value.size === 0) || (Array.isArray(value) && value.length === 0);
}

/**
 * The text after `key:` for a value of a key at `column`, through its final line break; a line
 * comment (with its leading space) goes at the end of the key's own line.
 */
export function emitValueAfterKey(value: PlainValue, column: number, layout: YamlLayout, lineComment = ''): string {
  const out: string[] = [];
  emitValueAfterIndicator(value, column, layout, out);
  const text = out.join('');
  if (lineComment === '') return text;
  const breakAt = text.indexOf('\n');
  return `${text.slice(0, breakAt)}${lineComment}${text.slice(breakAt)}`;
}

/** List items whose `-` is at `column`. */
export function emitSeqItems(items: PlainValue[], column: number, layout: YamlLayout): string {
  const out: string[] = [];
  emitSeq(items, column, layout, out);
  return out.join('');
}

function emitValueAfterIndicator(value: PlainValue, column: number, layout: YamlLayout, out: string[]): void {
  if (value instanceof Map) {
    if (value.size === 0) out.push(' {}\n');
    else {
      out.push('\n');
      emitMap(value, nextIndent(column, layout), layout, out);
    }
  } else if (Array.isArray(value)) {
    if (value.length === 0) out.push(' []\n');
    else {
      out.push('\n');
      emitSeq(value, layout.indentSeq ? nextIndent(column, layout) : column, layout, out);
    }
  } else {
    out.push(` ${formatYamlScalar(value, { flow: false, blockIndent: nextIndent(column, layout) })}\n`);
  }
}

/** Appends a block mapping whose keys start at `column`. */
export function emitMap(map: Map<string, PlainValue>, column: number, layout: YamlLayout, out: string[]): void {
  const pad = ' '.repeat(column);
  for (const [key, value] of map) {
    out.push(`${pad}${formatYamlKey(key)}:`);
    emitValueAfterIndicator(value, column, layout, out);
  }
}

/** The `sops` entry as the last key of a root map at `column`. */
export function emitMetadataEntry(metadata: Map<string, PlainValue>, column: number, layout: YamlLayout): string {
  const out = [`${' '.repeat(column)}sops:`];
  emitValueAfterIndicator(metadata, column, layout, out);
  return out.join('');
}

function emitSeq(items: PlainValue[], column: number, layout: YamlLayout, out: string[]): void {
  const pad = ' '.repeat(column);
  for (const item of items) {
    if ((item instanceof Map || Array.isArray(item)) && !isEmptyCollection(item)) {
      // The first entry shares the line with `- `; the rest align under it.
      const nested: string[] = [];
      if (item instanceof Map) emitMap(item, column + 2, layout, nested);
      else emitSeq(item, column + 2, layout, nested);
      const text = nested.join('');
      out.push(`${pad}- ${text.slice(column + 2)}`);
    } else if (item instanceof Map || Array.isArray(item)) {
      out.push(`${pad}- ${item instanceof Map ? '{}' : '[]'}\n`);
    } else {
      out.push(`${pad}- ${formatYamlScalar(item, { flow: false, blockIndent: nextIndent(column, layout) })}\n`);
    }
  }
}

/** A whole YAML document (a map) as SOPS writes it. */
export function emitDocument(map: Map<string, PlainValue>, layout: YamlLayout): string {
  if (map.size === 0) return '{}\n';
  const out: string[] = [];
  emitMap(map, 0, layout, out);
  return out.join('');
}
