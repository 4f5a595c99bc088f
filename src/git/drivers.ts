// git's diff and merge drivers for secrets files. The diff side shows key paths without a key
// (a short digest of each ENC string, so unchanged values read as unchanged) or, opted in, the
// decrypted values. The merge side merges key by key: a key path changed on one side only takes
// that side; changed on both to different values is a conflict naming the key path. The MAC covers
// every value, so a merge needs the merging person's key to recompute it.
import { createHash } from 'node:crypto';
import { collectLeaves, type EncryptedVersion, type FileVersion, readFileVersion, valueText } from '../audit/versions.js';
import { CofferError } from '../errors.js';
import type { KeyRing } from '../file/key-ring.js';
import { type OpenedFile, openFile, sealFile } from '../file/secrets-file.js';
import { formatKeyPath } from '../format/key-path.js';
import { detectStore } from '../format/stores/index.js';
import type { PathSegment, PlainValue } from '../format/tree.js';

const encoder = new TextEncoder();

const digest = (enc: string) => createHash('sha256').update(enc).digest('hex').slice(0, 12);

/** The text git diffs for one version: one line per key path. */
export async function renderTextconv(path: string, content: Uint8Array, keys?: KeyRing): Promise<string> {
  const version = readFileVersion(path, content);
  if (version.kind !== 'encrypted') return new TextDecoder().decode(content);
  const lines = [`# coffer: ${path} (recipients: ${version.recipients.length})`, ...version.recipients.map((recipient) => `# recipient ${recipient}`)];
  if (keys) {
    const opened = await openFile({ file: path, store: detectStore(path), content }, keys, { readOnly: true, ignoreMac: true });
    collectLeaves(opened.plain.toPlain(), (segments, value) => lines.push(`${formatKeyPath(segments)} = ${valueText(value)}`));
    if (!opened.macVerified) lines.push('# WARNING: MAC mismatch');
  } else {
    for (const [keyPath, enc] of version.values) lines.push(`${keyPath} = ${enc.startsWith('clear:') ? enc.slice(6) : `encrypted:${digest(enc)}`}`);
  }
  return `${lines.join('\n')}\n`;
}

export type KeyComparison = 'unchanged' | 'changed' | 'added' | 'removed';

/** Key paths of two versions with a marker each (ENC strings compared; no key needed). */
export function compareKeyPaths(before: FileVersion, after: FileVersion): { keyPath: string; state: KeyComparison }[] {
  const a = before.kind === 'encrypted' ? before.values : new Map<string, string>();
  const b = after.kind === 'encrypted' ? after.values : new Map<string, string>();
  const rows: { keyPath: string; state: KeyComparison }[] = [];
  for (const [keyPath, enc] of b) rows.push({ keyPath, state: !a.has(keyPath) ? 'added' : a.get(keyPath) === enc ? 'unchanged' : 'changed' });
  for (const keyPath of a.keys()) if (!b.has(keyPath)) rows.push({ keyPath, state: 'removed' });
  return rows;
}

export type MergeResult = { status: 'merged'; text: string } | { status: 'conflict'; keyPaths: string[] } | { status: 'declined'; reason: string };

interface Side {
  opened: OpenedFile;
  values: Map<string, string>;
  enc: Map<string, string>;
  paths: Map<string, PathSegment[]>;
  raw: Map<string, PlainValue>;
}

async function openSide(path: string, content: Uint8Array, keys: KeyRing): Promise<Side> {
  const opened = await openFile({ file: path, store: detectStore(path), content }, keys);
  const version = readFileVersion(path, content);
  const values = new Map<string, string>();
  const raw = new Map<string, PlainValue>();
  const paths = new Map<string, PathSegment[]>();
  collectLeaves(opened.plain.toPlain(), (segments, value) => {
    const keyPath = formatKeyPath(segments);
    values.set(keyPath, valueText(value));
    raw.set(keyPath, value);
    paths.set(keyPath, segments);
  });
  return { opened, values, raw, paths, enc: version.kind === 'encrypted' ? version.values : new Map() };
}

/** Three-way merge of one secrets file, key path by key path. */
export async function mergeSecretsFile(path: string, base: Uint8Array, ours: Uint8Array, theirs: Uint8Array, keys: KeyRing | undefined): Promise<MergeResult> {
  const versions = [base, ours, theirs].map((content) => readFileVersion(path, content));
  if (versions.some((version) => version.kind !== 'encrypted')) return { status: 'declined', reason: 'not every side is an encrypted file' };
  if (!keys) return { status: 'declined', reason: 'merging changes the MAC, which needs a key that decrypts the file' };
  let sides: Side[];
  try {
    sides = await Promise.all([base, ours, theirs].map((content) => openSide(path, content, keys)));
  } catch (error) {
    if (error instanceof CofferError && error.code === 'NO_MATCHING_IDENTITY') return { status: 'declined', reason: 'merging changes the MAC, which needs a key that decrypts the file (none of your identities unwraps its data key)' };
    if (error instanceof CofferError) return { status: 'declined', reason: error.message };
    throw error;
  }
  const [b, o, t] = sides as [Side, Side, Side];
  const same = (x: Uint8Array, y: Uint8Array) => Buffer.from(x).equals(Buffer.from(y));
  const [baseVersion, oursVersion, theirsVersion] = versions as [EncryptedVersion, EncryptedVersion, EncryptedVersion];
  // A branch that rotated the data key or changed the recipients (a revocation, a new reader) made a
  // security decision the merge must keep: its file carries the result, the other branch's value
  // changes are applied on top and encrypted under its key. Both branches doing so differently is for a person to untangle.
  const rekeyed = (side: Side, version: EncryptedVersion) => !same(side.opened.dataKey, b.opened.dataKey) || version.recipients.join() !== baseVersion.recipients.join();
  const oursRekeyed = rekeyed(o, oursVersion);
  const theirsRekeyed = rekeyed(t, theirsVersion);
  if (oursRekeyed && theirsRekeyed && (!same(o.opened.dataKey, t.opened.dataKey) || oursVersion.recipients.join() !== theirsVersion.recipients.join())) {
    return { status: 'declined', reason: 'both branches changed the data key or the recipients; merge by hand, then run `coffer updatekeys` and `coffer rotate`' };
  }
  const [carrier, other] = theirsRekeyed && !oursRekeyed ? [t, o] : [o, t];
  const changed = (side: Side, keyPath: string) => side.values.get(keyPath) !== b.values.get(keyPath);
  const merged = carrier.opened.plain.clone();
  const taken: string[] = [];
  const conflicts: string[] = [];
  for (const keyPath of new Set([...b.values.keys(), ...o.values.keys(), ...t.values.keys()])) {
    if (!changed(other, keyPath)) continue;
    if (!changed(carrier, keyPath)) {
      if (other.values.has(keyPath)) {
        merged.setValue(other.paths.get(keyPath)!, other.raw.get(keyPath)!);
        taken.push(keyPath);
      } else merged.deleteValue(carrier.paths.get(keyPath)!);
      continue;
    }
    if (o.values.get(keyPath) !== t.values.get(keyPath)) conflicts.push(keyPath);
  }
  if (conflicts.length > 0) return { status: 'conflict', keyPaths: conflicts.sort() };
  let text = sealFile(carrier.opened, merged) ?? new TextDecoder().decode(carrier === o ? ours : theirs);
  // under one data key, the other branch's ciphertext verbatim for the values taken from it (same
  // key and AAD): history then sees no change of the merge's own
  const result = readFileVersion(path, encoder.encode(text));
  if (result.kind === 'encrypted' && same(carrier.opened.dataKey, other.opened.dataKey)) {
    for (const keyPath of taken) {
      const fresh = result.values.get(keyPath);
      const original = other.enc.get(keyPath);
      if (fresh && original && fresh !== original && fresh.startsWith('ENC[') && original.startsWith('ENC[')) text = text.replace(fresh, original);
    }
  }
  return { status: 'merged', text };
}
