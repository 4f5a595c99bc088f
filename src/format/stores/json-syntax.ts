// A small JSON parser that remembers where each scalar's text is, so that a rewrite can splice
// changed values into the original text, and a writer that escapes strings like Go's json.Marshal.
import { CofferError } from '../../errors.js';
import { type PlainMap, type PlainValue, type ScalarValue, TimeValue } from '../tree.js';
import { formatFloat } from '../values.js';
import { parseError, positionOf } from './parse-error.js';

export interface JsonObject {
  kind: 'object';
  entries: JsonEntry[];
}
export interface JsonEntry {
  key: string;
  value: JsonNode;
}
export interface JsonArray {
  kind: 'array';
  items: JsonNode[];
}
export interface JsonScalar {
  kind: 'scalar';
  value: ScalarValue;
  /** Span of the scalar's text in the parsed source; -1 for values that were not parsed. */
  start: number;
  end: number;
  /** True once the value no longer matches the source text. */
  edited: boolean;
}
export type JsonNode = JsonObject | JsonArray | JsonScalar;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_DEPTH = 1000;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class JsonParser {
  private at = 0;
  constructor(
    private readonly text: string,
    private readonly file: string | undefined,
  ) {}

  parseDocument(): JsonObject {
    if (this.text.charCodeAt(0) === 0xfeff) this.at = 1;
    this.skipSpace();
    if (this.text[this.at] !== '{') throw this.fail('the top level of a JSON file must be an object');
    const root = this.parseValue(0) as JsonObject;
    this.skipSpace();
    if (this.at < this.text.length) throw this.fail('unexpected text after the top-level object');
    return root;
  }

  private fail(reason: string, offset = this.at): CofferError {
    const { line, column } = positionOf(this.text, offset);
    return parseError(this.file, line, column, reason);
  }

  private skipSpace(): void {
    const text = this.text;
    let at = this.at;
    for (;;) {
      const code = text.charCodeAt(at);
      if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) at++;
      else break;
    }
    this.at = at;
  }

  private parseValue(depth: number): JsonNode {
    if (depth > MAX_DEPTH) throw this.fail('nesting is too deep');
    const char = this.text[this.at];
    if (char === '{') return this.parseObject(depth);
    if (char === '[') return this.parseArray(depth);
    const start = this.at;
    let value: ScalarValue;
    if (char === '"') value = this.parseString();
    else if (this.text.startsWith('true', start)) value = this.literal(true, 4);
    else if (this.text.startsWith('false', start)) value = this.literal(false, 5);
    else if (this.text.startsWith('null', start)) value = this.literal(null, 4);
    else value = this.parseNumber();
    return { kind: 'scalar', value, start, end: this.at, edited: false };
  }

  private literal<T>(value: T, length: number): T {
    this.at += length;
    return value;
  }

  private parseNumber(): bigint | number {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match) throw this.fail(this.at >= this.text.length ? 'unexpected end of input' : 'expected a JSON value');
    this.at = NUMBER.lastIndex;
    const literal = match[0];
    if (match[1] === undefined && match[2] === undefined) {
      const int = BigInt(literal);
      if (int >= INT64_MIN && int <= INT64_MAX) return int;
    }
    return Number(literal);
  }

  private parseString(): string {
    const text = this.text;
    const opening = this.at;
    let at = this.at + 1;
    let out = '';
    let runStart = at;
    for (;;) {
      const code = text.charCodeAt(at);
      if (Number.isNaN(code)) throw this.fail('unterminated string', opening);
      if (code === 0x22) break;
      if (code < 0x20) throw this.fail('control character in string', at);
      if (code === 0x5c) {
        out += text.slice(runStart, at);
        const escaped = text[at + 1] ?? '';
        if (escaped === 'u') {
          const hex = text.slice(at + 2, at + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.fail('invalid \\u escape', at);
          out += String.fromCharCode(Number.parseInt(hex, 16));
          at += 6;
        } else {
          const replacement = ESCAPES[escaped];
          if (replacement === undefined) throw this.fail('invalid escape in string', at);
          out += replacement;
          at += 2;
        }
        runStart = at;
        continue;
      }
      at++;
    }
    out += text.slice(runStart, at);
    this.at = at + 1;
    return out;
  }

  private expect(char: string, what: string): void {
    if (this.text[this.at] !== char) {
      throw this.fail(this.at >= this.text.length ? 'unexpected end of input' : `expected ${what}`);
    }
    this.at++;
  }

  private parseObject(depth: number): JsonObject {
    this.at++;
    const entries: JsonEntry[] = [];
    const seen = new Set<string>();
    this.skipSpace();
    if (this.text[this.at] === '}') {
      this.at++;
      return { kind: 'object', entries };
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] !== '"') throw this.fail('expected a string key');
      const keyAt = this.at;
      const key = this.parseString();
      if (seen.has(key)) throw this.fail('duplicate key', keyAt);
      seen.add(key);
      this.skipSpace();
      this.expect(':', "':'");
      this.skipSpace();
      entries.push({ key, value: this.parseValue(depth + 1) });
      this.skipSpace();
      if (this.text[this.at] === ',') {
        this.at++;
        continue;
      }
      this.expect('}', "',' or '}'");
      return { kind: 'object', entries };
    }
  }

  private parseArray(depth: number): JsonArray {
    this.at++;
    const items: JsonNode[] = [];
    this.skipSpace();
    if (this.text[this.at] === ']') {
      this.at++;
      return { kind: 'array', items };
    }
    for (;;) {
      this.skipSpace();
      items.push(this.parseValue(depth + 1));
      this.skipSpace();
      if (this.text[this.at] === ',') {
        this.at++;
        continue;
      }
      this.expect(']', "',' or ']'");
      return { kind: 'array', items };
    }
  }
}

export function parseJsonText(text: string, file?: string): JsonObject {
  return new JsonParser(text, file).parseDocument();
}

const GO_ESCAPED = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/g;

/** A JSON string literal escaped as Go's json.Marshal does (HTML characters and U+2028/9 too). */
export function quoteJsonString(text: string): string {
  return `"${text.replace(GO_ESCAPED, (char, offset: number) => {
    switch (char) {
      case '"':
        return '\\"';
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      case '\b':
        return '\\b';
      case '\f':
        return '\\f';
    }
    const code = char.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdfff) {
      // A well-formed surrogate pair passes through; a lone half becomes an escape.
      const pairOk =
        code < 0xdc00
          ? isLowSurrogate(text.charCodeAt(offset + 1))
          : isHighSurrogate(text.charCodeAt(offset - 1));
      if (pairOk) return char;
    }
    return `\\u${code.toString(16).padStart(4, '0')}`;
  })}"`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The JSON text of a scalar; integral floats keep a `.0` so they read back as floats. */
export function formatJsonScalar(value: ScalarValue): string {
  if (typeof value === 'string') return quoteJsonString(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return 'null';
  if (value instanceof TimeValue) return quoteJsonString(value.text);
  if (value instanceof Uint8Array) {
    throw new CofferError('UNSUPPORTED_VALUE', 'raw bytes can only be stored in a binary file');
  }
  if (!Number.isFinite(value)) {
    throw new CofferError('UNSUPPORTED_VALUE', 'JSON cannot hold NaN or infinite numbers');
  }
  const text = formatFloat(value);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/** Writes plain data in SOPS's JSON layout with the given indent unit. */
export function formatJsonPlain(value: PlainValue, indent: string, depth = 0): string {
  const inner = indent.repeat(depth + 1);
  if (value instanceof Map) {
    if (value.size === 0) return '{}';
    const parts: string[] = [];
    for (const [key, child] of value) {
      parts.push(`${inner}${quoteJsonString(key)}: ${formatJsonPlain(child, indent, depth + 1)}`);
    }
    return `{\n${parts.join(',\n')}\n${indent.repeat(depth)}}`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const parts = value.map((child) => inner + formatJsonPlain(child, indent, depth + 1));
    return `[\n${parts.join(',\n')}\n${indent.repeat(depth)}]`;
  }
  return formatJsonScalar(value);
}

export function jsonNodeToPlain(node: JsonNode): PlainValue {
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'array') return node.items.map(jsonNodeToPlain);
  const map: PlainMap = new Map();
  for (const entry of node.entries) map.set(entry.key, jsonNodeToPlain(entry.value));
  return map;
}

export function plainToJsonNode(value: PlainValue): JsonNode {
  if (value instanceof Map) {
    return { kind: 'object', entries: [...value].map(([key, child]) => ({ key, value: plainToJsonNode(child) })) };
  }
  if (Array.isArray(value)) return { kind: 'array', items: value.map(plainToJsonNode) };
  return { kind: 'scalar', value, start: -1, end: -1, edited: true };
}
