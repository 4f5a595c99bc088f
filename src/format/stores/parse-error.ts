// Parse errors of every store: they name file:line:column and the reason, never the line itself
// (it may hold a secret).
import { CofferError } from '../../errors.js';

export function parseError(file: string | undefined, line: number, column: number, reason: string): CofferError {
  const where = `${file ?? '<input>'}:${line}:${column}`;
  return new CofferError('PARSE_ERROR', `${where}: ${reason}`, {
    data: { file, line, column },
    hints: ['fix the syntax at that position, or pass --input-type if the extension does not match the content'],
  });
}

/** 1-based line and column of an offset in `text`. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

export function unsupportedValue(message: string, data: Record<string, unknown> = {}): CofferError {
  return new CofferError('UNSUPPORTED_VALUE', message, { data });
}
