// Line numbers for problems at key paths, looked up only in files that have problems (the checks
// themselves never need them). YAML and JSON through the yaml parser; dotenv and INI by key.
import { LineCounter, type Node, parseDocument } from 'yaml';
import type { StoreName } from '../format/tree.js';
import type { Problem } from './report.js';

/** A dotted key path (`a.b[0]`, `\.` escapes a dot) as segments. */
function splitPath(keyPath: string): (string | number)[] {
  const segments: (string | number)[] = [];
  let current = '';
  const flush = () => {
    if (current !== '') segments.push(current);
    current = '';
  };
  for (let at = 0; at < keyPath.length; at++) {
    const char = keyPath[at]!;
    if (char === '\\' && keyPath[at + 1] === '.') {
      current += '.';
      at++;
    } else if (char === '.') flush();
    else if (char === '[') {
      const end = keyPath.indexOf(']', at);
      flush();
      segments.push(Number(keyPath.slice(at + 1, end)));
      at = end;
    } else current += char;
  }
  flush();
  return segments;
}

function lineFinder(text: string, store: StoreName): (segments: (string | number)[]) => number | undefined {
  if (store === 'yaml' || store === 'json') {
    const lineCounter = new LineCounter();
    const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
    return (segments) => {
      // the deepest node that exists: a missing key is reported at its parent map
      for (let length = segments.length; length >= 0; length--) {
        const node = document.getIn(segments.slice(0, length), true) as Node | undefined;
        if (node?.range) {
          const line = lineCounter.linePos(node.range[0]).line;
          return length === 0 ? undefined : line;
        }
      }
      return undefined;
    };
  }
  const lines = text.split('\n');
  return (segments) => {
    const key = String(segments.at(-1) ?? '');
    const index = lines.findIndex((line) => line.trimStart().startsWith(`${key}=`) || line.trimStart().startsWith(`${key} =`));
    return index < 0 ? undefined : index + 1;
  };
}

/** Fills in `line` for the problems of one file that name a key path. */
export function addLines(problems: Problem[], text: string, store: StoreName): void {
  const withPath = problems.filter((item) => item.keyPath !== undefined && item.line === undefined);
  if (withPath.length === 0 || store === 'binary') return;
  let find: ((segments: (string | number)[]) => number | undefined) | undefined;
  try {
    find = lineFinder(text, store);
  } catch {
    return;
  }
  for (const item of withPath) {
    const line = find(splitPath(item.keyPath!));
    if (line !== undefined) item.line = line;
  }
}
