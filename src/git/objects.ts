// Reading git objects straight from .git/objects: loose objects and version-2 packs (offset and
// ref deltas), with node's native zlib. isomorphic-git's readObject costs about half a millisecond
// an object, which is most of a 2,000-commit walk; this reads each object with one positional read
// and one inflate, and keeps recently used delta bases. Anything it cannot find (alternates,
// promisor remotes) is reported as missing so the caller can fall back.
import { closeSync, openSync, readdirSync, readFileSync, readSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

export type GitObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface GitObject {
  type: GitObjectType;
  data: Buffer;
}

/** Thrown for bytes that are not a valid object (a damaged pack or loose object). */
export class CorruptObjectError extends Error {
  readonly code = 'CorruptObjectError';
}

const TYPES: Record<number, GitObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };

interface Pack {
  fd: number;
  size: number;
  /** The idx: names (20 bytes each, sorted), offsets, and the fan-out table. */
  fanout: Uint32Array;
  names: Buffer;
  offsets: number[];
  /** Every object's start, ascending, so an object's compressed bytes end where the next begins. */
  starts: Float64Array;
}

function readIndex(path: string): Omit<Pack, 'fd' | 'size'> {
  const idx = readFileSync(path);
  if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) throw new CorruptObjectError(`${path}: not a version 2 pack index`);
  const fanout = new Uint32Array(256);
  for (let index = 0; index < 256; index++) fanout[index] = idx.readUInt32BE(8 + index * 4);
  const count = fanout[255]!;
  const namesStart = 8 + 1024;
  const names = idx.subarray(namesStart, namesStart + count * 20);
  const offsetsStart = namesStart + count * 24;
  const largeStart = offsetsStart + count * 4;
  const offsets: number[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const value = idx.readUInt32BE(offsetsStart + index * 4);
    offsets[index] = value & 0x80000000 ? Number(idx.readBigUInt64BE(largeStart + (value & 0x7fffffff) * 8)) : value;
  }
  const starts = Float64Array.from(offsets).sort();
  return { fanout, names, offsets, starts };
}

function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let position = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[position++]!;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  if (varint() !== base.length) throw new CorruptObjectError('delta base size mismatch');
  const out = Buffer.allocUnsafe(varint());
  let written = 0;
  while (position < delta.length) {
    const command = delta[position++]!;
    if (command & 0x80) {
      let offset = 0;
      let size = 0;
      for (let bit = 0; bit < 4; bit++) if (command & (1 << bit)) offset |= delta[position++]! << (bit * 8);
      for (let bit = 0; bit < 3; bit++) if (command & (0x10 << bit)) size |= delta[position++]! << (bit * 8);
      if (size === 0) size = 0x10000;
      offset >>>= 0;
      if (offset + size > base.length || written + size > out.length) throw new CorruptObjectError('delta copies outside its base');
      base.copy(out, written, offset, offset + size);
      written += size;
    } else if (command) {
      if (written + command > out.length || position + command > delta.length) throw new CorruptObjectError('delta inserts past its end');
      delta.copy(out, written, position, position + command);
      written += command;
      position += command;
    } else throw new CorruptObjectError('delta has a reserved instruction');
  }
  if (written !== out.length) throw new CorruptObjectError('delta result size mismatch');
  return out;
}

export interface ObjectReader {
  /** The object, or undefined when neither a loose object nor a pack holds it. */
  read(oid: string): GitObject | undefined;
  close(): void;
}

const PACK_WINDOW = 1024 * 1024;
const PACK_WINDOWS_KEPT = 32;
const BASE_CACHE_LIMIT = 4096;

export function createObjectReader(gitdir: string): ObjectReader {
  const objectsDir = join(gitdir, 'objects');
  let packs: Pack[] | undefined;
  const openPacks = (): Pack[] => {
    if (packs) return packs;
    packs = [];
    let names: string[] = [];
    try {
      names = readdirSync(join(objectsDir, 'pack'));
    } catch {
      // no packs yet
    }
    for (const name of names) {
      if (!name.endsWith('.idx')) continue;
      const index = readIndex(join(objectsDir, 'pack', name));
      const fd = openSync(join(objectsDir, 'pack', name.replace(/\.idx$/, '.pack')), 'r');
      packs.push({ ...index, fd, size: fstatSync(fd).size });
    }
    return packs;
  };
  // delta bases by pack and offset; cleared wholesale when full (history walks have good locality)
  const bases = new Map<string, GitObject>();

  const find = (pack: Pack, name: Buffer): number => {
    const first = name[0]!;
    let low = first === 0 ? 0 : pack.fanout[first - 1]!;
    let high = pack.fanout[first]!;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const order = pack.names.compare(name, 0, 20, middle * 20, middle * 20 + 20);
      if (order === 0) return middle;
      if (order > 0) high = middle;
      else low = middle + 1;
    }
    return -1;
  };

  const endOf = (pack: Pack, offset: number): number => {
    const starts = pack.starts;
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (starts[middle]! <= offset) low = middle + 1;
      else high = middle;
    }
    return low < starts.length ? starts[low]! : pack.size - 20;
  };

  // The pack is read a window (1 MiB, aligned) at a time, as git does: a walk over thousands of
  // commits reads each object's few hundred bytes from a window in memory instead of with a
  // system call and a buffer of its own. The most recently used windows are kept, up to 32 MiB.
  const windows = new Map<string, Buffer>();
  const windowAt = (pack: Pack, start: number): Buffer => {
    const key = `${pack.fd}:${start}`;
    let window = windows.get(key);
    if (window) {
      windows.delete(key);
    } else {
      window = Buffer.allocUnsafe(Math.min(PACK_WINDOW, pack.size - start));
      if (readSync(pack.fd, window, 0, window.length, start) !== window.length) throw new CorruptObjectError('pack is truncated');
      if (windows.size >= PACK_WINDOWS_KEPT) windows.delete(windows.keys().next().value!);
    }
    windows.set(key, window);
    return window;
  };
  const packBytes = (pack: Pack, offset: number, end: number): Buffer => {
    // the index names objects the pack does not hold (a truncated or swapped pack)
    if (end <= offset || end > pack.size) throw new CorruptObjectError('pack is truncated');
    const start = offset - (offset % PACK_WINDOW);
    if (end <= start + PACK_WINDOW) return windowAt(pack, start).subarray(offset - start, end - start);
    // an object across a window boundary (or larger than one): read just it
    const bytes = Buffer.allocUnsafe(end - offset);
    if (readSync(pack.fd, bytes, 0, bytes.length, offset) !== bytes.length) throw new CorruptObjectError('pack is truncated');
    return bytes;
  };

  const readAt = (pack: Pack, offset: number): GitObject => {
    const key = `${pack.fd}:${offset}`;
    const cached = bases.get(key);
    if (cached) return cached;
    const bytes = packBytes(pack, offset, endOf(pack, offset));
    let position = 0;
    let byte = bytes[position++]!;
    const typeNumber = (byte >> 4) & 7;
    while (byte & 0x80) byte = bytes[position++]!;
    let object: GitObject;
    if (typeNumber === 6 || typeNumber === 7) {
      let base: GitObject | undefined;
      if (typeNumber === 6) {
        byte = bytes[position++]!;
        let distance = byte & 0x7f;
        while (byte & 0x80) {
          byte = bytes[position++]!;
          distance = (distance + 1) * 128 + (byte & 0x7f);
        }
        base = readAt(pack, offset - distance);
      } else {
        base = read(bytes.subarray(position, position + 20).toString('hex'));
        position += 20;
        if (!base) throw new CorruptObjectError('a delta base is missing');
      }
      object = { type: base.type, data: applyDelta(base.data, inflate(bytes.subarray(position))) };
    } else {
      const type = TYPES[typeNumber];
      if (!type) throw new CorruptObjectError(`unknown pack object type ${typeNumber}`);
      object = { type, data: inflate(bytes.subarray(position)) };
    }
    if (bases.size >= BASE_CACHE_LIMIT) bases.clear();
    bases.set(key, object);
    return object;
  };

  const readLoose = (oid: string): GitObject | undefined => {
    let compressed: Buffer;
    try {
      compressed = readFileSync(join(objectsDir, oid.slice(0, 2), oid.slice(2)));
    } catch {
      return undefined;
    }
    const raw = inflate(compressed);
    const space = raw.indexOf(0x20);
    const nul = raw.indexOf(0, space);
    const type = raw.subarray(0, space).toString('latin1') as GitObjectType;
    if (space < 0 || nul < 0 || !['commit', 'tree', 'blob', 'tag'].includes(type)) throw new CorruptObjectError(`loose object ${oid} has no valid header`);
    const data = raw.subarray(nul + 1);
    if (Number(raw.subarray(space + 1, nul).toString('latin1')) !== data.length) throw new CorruptObjectError(`loose object ${oid} has the wrong length`);
    return { type, data };
  };

  const read = (oid: string): GitObject | undefined => {
    if (!/^[0-9a-f]{40}$/.test(oid)) return undefined;
    const name = Buffer.from(oid, 'hex');
    for (const pack of openPacks()) {
      const index = find(pack, name);
      if (index >= 0) return readAt(pack, pack.offsets[index]!);
    }
    return readLoose(oid);
  };

  return {
    read,
    close() {
      for (const pack of packs ?? []) closeSync(pack.fd);
      packs = undefined;
    },
  };
}

function inflate(bytes: Buffer): Buffer {
  try {
    return inflateSync(bytes);
  } catch (error) {
    throw new CorruptObjectError(`an object does not inflate (${(error as Error).message})`);
  }
}

export interface ParsedCommit {
  tree: string;
  parents: string[];
  author: { name: string; email: string; timestamp: number; timezoneOffset: number };
  committer: { name: string; email: string; timestamp: number; timezoneOffset: number };
  message: string;
  gpgsig?: string;
  /** The commit without its gpgsig header: the bytes a signature signs. */
  payload: string;
}

function parsePerson(text: string): ParsedCommit['author'] {
  const match = /^(.*?) <(.*)> (\d+) ([+-])(\d\d)(\d\d)$/.exec(text);
  if (!match) throw new CorruptObjectError('a commit has a malformed author or committer');
  const minutes = Number(match[5]) * 60 + Number(match[6]);
  // isomorphic-git's convention: minutes west of UTC (UTC+2 is -120)
  return { name: match[1]!, email: match[2]!, timestamp: Number(match[3]), timezoneOffset: match[4] === '+' ? -minutes || 0 : minutes };
}

export function parseCommit(data: Buffer): ParsedCommit {
  const text = data.toString('utf8');
  const headerEnd = text.indexOf('\n\n');
  const headers = headerEnd < 0 ? text : text.slice(0, headerEnd);
  const message = headerEnd < 0 ? '' : text.slice(headerEnd + 2);
  const lines = headers.split('\n');
  const parents: string[] = [];
  let tree: string | undefined;
  let author: ParsedCommit['author'] | undefined;
  let committer: ParsedCommit['author'] | undefined;
  let gpgsig: string | undefined;
  const payloadLines: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const space = line.indexOf(' ');
    const name = line.slice(0, space);
    const value = line.slice(space + 1);
    if (name === 'gpgsig') {
      const signature = [value];
      while (lines[index + 1]?.startsWith(' ')) signature.push(lines[++index]!.slice(1));
      gpgsig = `${signature.join('\n')}\n`;
      continue;
    }
    payloadLines.push(line);
    if (name === 'tree') tree = value;
    else if (name === 'parent') parents.push(value);
    else if (name === 'author') author = parsePerson(value);
    else if (name === 'committer') committer = parsePerson(value);
  }
  if (!tree || !author || !committer) throw new CorruptObjectError('a commit lacks its tree, author or committer');
  const payload = `${payloadLines.join('\n')}${headerEnd < 0 ? '' : `\n\n${message}`}`;
  return { tree, parents, author, committer, message, payload, ...(gpgsig ? { gpgsig } : {}) };
}

export interface ParsedTreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

export function parseTree(data: Buffer): ParsedTreeEntry[] {
  const entries: ParsedTreeEntry[] = [];
  let position = 0;
  while (position < data.length) {
    const space = data.indexOf(0x20, position);
    const nul = data.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > data.length) throw new CorruptObjectError('a tree entry is truncated');
    let mode = data.toString('latin1', position, space);
    if (mode === '40000') mode = '040000';
    const path = data.toString('utf8', space + 1, nul);
    const oid = data.toString('hex', nul + 1, nul + 21);
    entries.push({ mode, path, oid, type: mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' });
    position = nul + 21;
  }
  return entries;
}

/** One entry of a raw tree by name, without parsing the others (a path lookup reads one entry per tree). */
export function findTreeEntry(data: Buffer, name: string): ParsedTreeEntry | undefined {
  const wanted = Buffer.from(name, 'utf8');
  let position = 0;
  while (position < data.length) {
    const space = data.indexOf(0x20, position);
    const nul = data.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > data.length) throw new CorruptObjectError('a tree entry is truncated');
    if (nul - space - 1 === wanted.length && data.compare(wanted, 0, wanted.length, space + 1, nul) === 0) {
      let mode = data.toString('latin1', position, space);
      if (mode === '40000') mode = '040000';
      return { mode, path: name, oid: data.toString('hex', nul + 1, nul + 21), type: mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' };
    }
    position = nul + 21;
  }
  return undefined;
}
