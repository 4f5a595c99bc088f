// The INI store, read like Go's ini library reads it: sections are top-level maps of string
// values, keys before any section belong to `DEFAULT`, `;`/`#` lines are comments, values may be
// quoted or span lines in `"""`. The file is kept line by line, so an unchanged layout is written
// back byte for byte. Metadata is the `[sops]` section, flattened without prefix.
import type { LeafVisitor, PathSegment, PlainMap, PlainValue, ScalarValue, StoreDocument } from '../tree.js';
import { flattenMetadata, unflattenMetadata } from '../flatten.js';
import { CommentStack } from './comment-stack.js';
import { parseError, unsupportedValue } from './parse-error.js';
import { clonePlain, invalidPath, isScalar, scalarText } from './plain.js';

const DEFAULT_SECTION = 'DEFAULT';
const SOPS_SECTION = 'sops';

type KeyLine = {
  kind: 'key';
  raw: string;
  key: string;
  value: ScalarValue;
  /** Span of the value's text (quotes included) inside `raw`. */
  valueStart: number;
  valueEnd: number;
};
type CommentLine = { kind: 'comment'; raw: string; textStart: number; text: string };
type IniLine = { kind: 'blank'; raw: string } | CommentLine | KeyLine;
interface IniSection {
  name: string;
  /** The `[name]` line; undefined for the keys before any section. */
  header: string | undefined;
  lines: IniLine[];
}

function checkName(name: string, what: string): void {
  if (
    name === '' ||
    name.trim() !== name ||
    /[\r\n]/.test(name) ||
    (what === 'key' && (/[=:]/.test(name) || /^[[;#"`]/.test(name))) ||
    (what === 'section' && name.includes(']'))
  ) {
    throw unsupportedValue(`INI ${what} name ${JSON.stringify(name)} cannot be written`, { [what]: name });
  }
}

/** A value as Go's ini library writes it (with newlines escaped as `\n`, as SOPS 3.13.2 does). */
function formatValue(value: ScalarValue): string {
  const text = scalarText(value).replaceAll('\n', '\\n');
  if (text.includes('"""')) throw unsupportedValue('INI values cannot contain """');
  if (text.includes('`')) return `"""${text}"""`;
  if (/[#;]/.test(text) || (text.length >= 2 && text.startsWith('"') && text.endsWith('"'))) return `\`${text}\``;
  if (text.trim() !== text) return `"${text}"`;
  return text;
}

function keyLineOf(key: string, value: ScalarValue, width = key.length): KeyLine {
  const prefix = `${key.padEnd(width)} = `;
  const text = formatValue(value);
  return { kind: 'key', raw: `${prefix}${text}\n`, key, value, valueStart: prefix.length, valueEnd: prefix.length + text.length };
}

function parseIni(text: string, file: string | undefined): IniSection[] {
  const sections: IniSection[] = [{ name: DEFAULT_SECTION, header: undefined, lines: [] }];
  const physical = text.split('\n');
  const lastIndex = physical.length - 1;
  for (let index = 0; index < physical.length; index++) {
    if (index === lastIndex && physical[index] === '') break;
    let raw = physical[index]! + (index < lastIndex ? '\n' : '');
    const section = sections[sections.length - 1]!;
    const trimmed = raw.trim();
    const indentWidth = raw.length - raw.trimStart().length;
    if (trimmed === '') {
      section.lines.push({ kind: 'blank', raw });
    } else if (trimmed.startsWith(';') || trimmed.startsWith('#')) {
      const textStart = indentWidth + 1;
      section.lines.push({ kind: 'comment', raw, textStart, text: raw.slice(textStart).replace(/\r?\n$/, '') });
    } else if (trimmed.startsWith('[')) {
      const close = trimmed.lastIndexOf(']');
      if (close < 0) throw parseError(file, index + 1, indentWidth + 1, "unclosed section header (missing ']')");
      sections.push({ name: trimmed.slice(1, close).trim(), header: raw, lines: [] });
    } else {
      const delimiter = raw.search(/[=:]/);
      if (delimiter < 0) throw parseError(file, index + 1, indentWidth + 1, "expected key = value (no '=' on this line)");
      let key = raw.slice(0, delimiter).trim();
      if (key.length >= 2 && /^["`]/.test(key) && key.endsWith(key[0]!)) key = key.slice(1, -1);
      const valueStart = delimiter + 1 + (raw.slice(delimiter + 1).length - raw.slice(delimiter + 1).trimStart().length);
      let valueEnd: number;
      let value: string;
      const rest = raw.slice(valueStart).replace(/\r?\n$/, '');
      if (rest.startsWith('"""')) {
        let close = raw.indexOf('"""', valueStart + 3);
        const firstLine = index + 1;
        while (close < 0) {
          index++;
          if (index > lastIndex) throw parseError(file, firstLine, valueStart + 1, 'unterminated """ value');
          raw += physical[index]! + (index < lastIndex ? '\n' : '');
          close = raw.indexOf('"""', valueStart + 3);
        }
        value = raw.slice(valueStart + 3, close);
        valueEnd = close + 3;
      } else {
        const unpadded = rest.trimEnd();
        valueEnd = valueStart + unpadded.length;
        const quote = unpadded[0];
        if (unpadded.length >= 2 && (quote === '"' || quote === '`') && unpadded.endsWith(quote)) {
          value = unpadded.slice(1, -1);
        } else {
          const comment = unpadded.search(/[#;]/);
          value = comment < 0 ? unpadded : unpadded.slice(0, comment).trimEnd();
          valueEnd = valueStart + value.length;
        }
      }
      section.lines.push({ kind: 'key', raw, key, value: value.replaceAll('\\n', '\n'), valueStart, valueEnd });
    }
  }
  return sections;
}

function cloneSection(section: IniSection): IniSection {
  return { name: section.name, header: section.header, lines: section.lines.map((line) => ({ ...line })) };
}

/** Index after the last key line: later lines (comments, blanks) trail the section. */
function keysEnd(section: IniSection): number {
  for (let index = section.lines.length - 1; index >= 0; index--) if (section.lines[index]!.kind === 'key') return index + 1;
  return 0;
}

export class IniDocument implements StoreDocument {
  readonly store = 'ini' as const;

  private constructor(private sections: IniSection[]) {}

  static parse(text: string, file?: string): IniDocument {
    return new IniDocument(parseIni(text, file));
  }

  static fromPlain(documents: PlainValue[]): IniDocument {
    const [only] = documents;
    if (documents.length !== 1 || !(only instanceof Map)) throw unsupportedValue('an INI file holds exactly one map');
    const sections: IniSection[] = [{ name: DEFAULT_SECTION, header: undefined, lines: [] }];
    for (const [name, values] of only) {
      checkName(name, 'section');
      if (name === SOPS_SECTION) throw unsupportedValue('the INI section sops is reserved for the metadata');
      if (!(values instanceof Map)) throw unsupportedValue(`INI section ${name} must be a map of values`, { section: name });
      const width = Math.max(0, ...[...values.keys()].map((key) => key.length));
      const lines: IniLine[] = [];
      for (const [key, value] of values) {
        checkName(key, 'key');
        if (!isScalar(value)) throw unsupportedValue(`INI value ${name}.${key} must be a scalar`, { section: name });
        lines.push(keyLineOf(key, value, width));
      }
      if (name === DEFAULT_SECTION && sections.length === 1 && lines.length > 0) {
        sections[0]!.lines = lines;
        continue;
      }
      const previous = sections[sections.length - 1]!;
      if (previous.lines.length > 0 || previous.header !== undefined) previous.lines.push({ kind: 'blank', raw: '\n' });
      sections.push({ name, header: `[${name}]\n`, lines });
    }
    return new IniDocument(sections);
  }

  private dataSections(): IniSection[] {
    return this.sections.filter((section) => section.name !== SOPS_SECTION);
  }

  mapLeaves(visit: LeafVisitor): void {
    const stack = new CommentStack();
    const visitComment = (line: CommentLine, keyPath: string[]): void => {
      const replacement = visit({ keyPath, value: line.text, isComment: true, commentStack: stack.snapshot() });
      if (replacement !== undefined) {
        line.text = scalarText(replacement).replace(/\r?\n/g, ' ');
        line.raw = `${line.raw.slice(0, line.textStart)}${line.text}${line.raw.endsWith('\n') ? '\n' : ''}`;
      }
      stack.push(line.text);
    };
    for (const section of this.dataSections()) {
      const end = keysEnd(section);
      if (end > 0) {
        stack.enter();
        for (const line of section.lines.slice(0, end)) {
          if (line.kind === 'comment') visitComment(line, [section.name]);
          else if (line.kind === 'key') {
            const replacement = visit({
              keyPath: [section.name, line.key],
              value: line.value,
              isComment: false,
              commentStack: stack.snapshot(),
            });
            if (replacement !== undefined) this.replaceValue(line, replacement);
            stack.clear();
          }
        }
        stack.leave();
      }
      if (end > 0 || section.header !== undefined) stack.clear();
      // Comments after a section's last key introduce the next section.
      for (const line of section.lines.slice(end)) if (line.kind === 'comment') visitComment(line, []);
    }
  }

  private replaceValue(line: KeyLine, value: ScalarValue): void {
    const text = formatValue(value);
    line.raw = line.raw.slice(0, line.valueStart) + text + line.raw.slice(line.valueEnd);
    line.valueEnd = line.valueStart + text.length;
    line.value = value;
  }

  readMetadata(): PlainMap | undefined {
    const sops = this.sections.filter((section) => section.name === SOPS_SECTION);
    if (sops.length === 0) return undefined;
    const entries: [string, string][] = [];
    for (const section of sops) for (const line of section.lines) if (line.kind === 'key') entries.push([line.key, scalarText(line.value)]);
    return unflattenMetadata(entries, '');
  }

  writeMetadata(metadata: PlainMap): void {
    this.removeMetadata();
    const last = this.sections[this.sections.length - 1]!;
    const lastLine = last.lines[last.lines.length - 1];
    if (lastLine || last.header !== undefined) {
      if (lastLine && !lastLine.raw.endsWith('\n')) lastLine.raw += '\n';
      if (lastLine?.kind !== 'blank') last.lines.push({ kind: 'blank', raw: '\n' });
    }
    const entries = [...flattenMetadata(metadata, '')];
    const width = Math.max(0, ...entries.map(([key]) => key.length));
    this.sections.push({
      name: SOPS_SECTION,
      header: `[${SOPS_SECTION}]\n`,
      lines: entries.map(([key, value]) => keyLineOf(key, value, width)),
    });
  }

  removeMetadata(): void {
    const before = this.sections.length;
    this.sections = this.sections.filter((section) => section.name !== SOPS_SECTION);
    if (this.sections.length === before) return;
    const last = this.sections[this.sections.length - 1]!;
    while (last.lines[last.lines.length - 1]?.kind === 'blank') last.lines.pop();
  }

  private findKey(sectionName: string, key: string): { section: IniSection; index: number } | undefined {
    for (const section of this.dataSections()) {
      if (section.name !== sectionName) continue;
      const index = section.lines.findIndex((line) => line.kind === 'key' && line.key === key);
      if (index >= 0) return { section, index };
    }
    return undefined;
  }

  getValue(path: readonly PathSegment[]): PlainValue | undefined {
    const [name, key] = path;
    if (typeof name !== 'string' || name === SOPS_SECTION) return undefined;
    if (path.length === 1) return this.toPlain()[0] instanceof Map ? (this.toPlain()[0] as PlainMap).get(name) : undefined;
    if (path.length !== 2 || typeof key !== 'string') return undefined;
    const found = this.findKey(name, key);
    const line = found?.section.lines[found.index];
    return line?.kind === 'key' ? clonePlain(line.value) : undefined;
  }

  setValue(path: readonly PathSegment[], value: PlainValue): void {
    const [name, key] = path;
    if (typeof name !== 'string' || (path.length === 2 && typeof key !== 'string') || path.length > 2 || path.length === 0) {
      throw invalidPath(path, 'INI files hold sections of keys');
    }
    checkName(name, 'section');
    if (name === SOPS_SECTION) throw invalidPath(path, 'the sops section is reserved for the metadata');
    if (path.length === 1) {
      if (!(value instanceof Map)) throw unsupportedValue(`INI section ${name} must be a map of values`, { section: name });
      this.deleteValue([name]);
      this.sectionNamed(name);
      for (const [childKey, child] of value) this.setValue([name, childKey], child);
      return;
    }
    if (!isScalar(value)) throw unsupportedValue(`INI value ${name}.${String(key)} must be a scalar`, { section: name });
    const found = this.findKey(name, key as string);
    const line = found?.section.lines[found.index];
    if (line?.kind === 'key') {
      this.replaceValue(line, value);
      return;
    }
    checkName(key as string, 'key');
    const section = this.sectionNamed(name);
    section.lines.splice(keysEnd(section), 0, keyLineOf(key as string, value));
  }

  /** The first section with that name, created at the end of the data if missing. */
  private sectionNamed(name: string): IniSection {
    const existing = this.dataSections().find((section) => section.name === name);
    if (existing) return existing;
    if (name === DEFAULT_SECTION && this.sections[0]?.header === undefined) return this.sections[0]!;
    const section: IniSection = { name, header: `[${name}]\n`, lines: [] };
    const at = this.sections.findIndex((candidate) => candidate.name === SOPS_SECTION);
    const previous = this.sections[(at < 0 ? this.sections.length : at) - 1];
    if (previous && (previous.lines.length > 0 || previous.header !== undefined)) {
      const lastLine = previous.lines[previous.lines.length - 1];
      if (lastLine && !lastLine.raw.endsWith('\n')) lastLine.raw += '\n';
      if (lastLine?.kind !== 'blank' && (previous.lines.length > 0 || previous.header !== undefined)) {
        previous.lines.push({ kind: 'blank', raw: '\n' });
      }
    }
    this.sections.splice(at < 0 ? this.sections.length : at, 0, section);
    return section;
  }

  deleteValue(path: readonly PathSegment[]): boolean {
    const [name, key] = path;
    if (typeof name !== 'string' || name === SOPS_SECTION) return false;
    if (path.length === 1) {
      const before = this.sections.length;
      this.sections = this.sections.filter((section) => section.name !== name || section.header === undefined);
      const implicit = this.sections[0];
      const hadImplicitKeys =
        name === DEFAULT_SECTION && implicit !== undefined && implicit.header === undefined && keysEnd(implicit) > 0;
      if (hadImplicitKeys && implicit) implicit.lines = implicit.lines.filter((line) => line.kind !== 'key');
      return this.sections.length !== before || hadImplicitKeys;
    }
    if (path.length !== 2 || typeof key !== 'string') return false;
    const found = this.findKey(name, key);
    if (!found) return false;
    found.section.lines.splice(found.index, 1);
    return true;
  }

  toPlain(): PlainValue[] {
    const root: PlainMap = new Map();
    for (const section of this.dataSections()) {
      if (section.header === undefined && keysEnd(section) === 0) continue;
      let map = root.get(section.name);
      if (!(map instanceof Map)) {
        map = new Map();
        root.set(section.name, map);
      }
      for (const line of section.lines) if (line.kind === 'key') map.set(line.key, clonePlain(line.value));
    }
    return [root];
  }

  serialize(): string {
    const parts: string[] = [];
    for (const section of this.sections) {
      if (section.header !== undefined) parts.push(section.header);
      for (const line of section.lines) parts.push(line.raw);
    }
    return parts.join('');
  }

  clone(): IniDocument {
    return new IniDocument(this.sections.map(cloneSection));
  }
}
