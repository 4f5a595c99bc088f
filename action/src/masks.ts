// Which strings to register with the runner for one secret value. The runner masks log text line
// by line, so a multi-line value is masked line by line too; a value may also reach the log in
// another rendering: JSON-escaped (a `toJSON` dump, a JSON file printed by a later step) or base64
// (an HTTP basic auth header, a Kubernetes Secret), possibly inside a longer base64 string.

/** Every rendering of `value` to mask, without duplicates or empty strings, longest first. */
export function masksOf(value: string): string[] {
  const masks = new Set<string>();
  const add = (text: string) => {
    if (text.trim() !== '') masks.add(text);
  };
  add(value);
  const lines = value.split(/\r?\n|\r/);
  if (lines.length > 1) for (const line of lines) add(line.trim());
  const json = JSON.stringify(value).slice(1, -1);
  if (json !== value) add(json);
  for (const shifted of base64Renderings(value)) add(shifted);
  return [...masks].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/** Shortest inner base64 fragment worth a mask. */
const MIN_FRAGMENT = 8;

/**
 * The base64 of the value on its own, and the characters that stay the same wherever the value
 * sits inside a longer base64 string (at a byte offset of 1 or 2 modulo 3, the first and last
 * characters depend on the neighbouring bytes and are left out).
 */
export function base64Renderings(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return [];
  const renderings = [bytes.toString('base64')];
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // character i holds bits 6i..6i+6: skip those touching the filler bytes or the bytes after the value
    const stable = encoded.slice(Math.ceil((shift * 4) / 3), Math.floor(((shift + bytes.length) * 4) / 3));
    // shorter fragments would blank unrelated log text and hide little
    if (stable.length >= MIN_FRAGMENT) renderings.push(stable);
  }
  return renderings;
}
