// The git index (.git/index) read natively: what is staged, as path, mode, blob id and size per
// entry. Versions 2, 3 and 4 (prefix-compressed paths) with SHA-1 object ids. Anything else (a split
// or sparse index, unmerged entries, SHA-256 repositories, a damaged file) is refused with
// undefined, so callers can fall back to isomorphic-git, which has the full model.
import { createHash } from 'node:crypto';

export interface IndexEntry {
  /** Relative to the top of the working tree, with `/`. */
  path: string;
  /** 0o100644, 0o100755, 0o120000 (symbolic link) or 0o160000 (submodule). */
  mode: number;
  /** The blob's object id (hex). */
  oid: string;
  /** The file's size when it was staged (git keeps the low 32 bits). */
  size: number;
}

const SIGNATURE = 0x44495243; // DIRC
const OID_BYTES = 20;
const FIXED_BYTES = 62; // ctime, mtime, dev, ino, mode, uid, gid, size, oid, flags
const EXTENDED_FLAG = 0x4000;

/** The entries of an index file, or undefined when it uses something this reader does not handle. */
export function parseIndex(bytes: Buffer): IndexEntry[] | undefined {
  if (bytes.length < 12 + OID_BYTES || bytes.readUInt32BE(0) !== SIGNATURE) return undefined;
  const version = bytes.readUInt32BE(4);
  if (version < 2 || version > 4) return undefined;
  const body = bytes.length - OID_BYTES;
  if (!createHash('sha1').update(bytes.subarray(0, body)).digest().equals(bytes.subarray(body))) return undefined;
  const count = bytes.readUInt32BE(8);
  const entries: IndexEntry[] = [];
  let at = 12;
  let previous = Buffer.alloc(0);
  for (let index = 0; index < count; index++) {
    const start = at;
    if (at + FIXED_BYTES > body) return undefined;
    const mode = bytes.readUInt32BE(at + 24);
    const size = bytes.readUInt32BE(at + 36);
    const oid = bytes.toString('hex', at + 40, at + 40 + OID_BYTES);
    const flags = bytes.readUInt16BE(at + 60);
    if ((flags >> 12) & 3) return undefined; // an unmerged path (stage 1-3)
    at += FIXED_BYTES;
    if (flags & EXTENDED_FLAG) {
      if (version < 3) return undefined;
      at += 2;
    }
    let path: string;
    if (version === 4) {
      // the number of bytes to drop from the previous path, then the rest of this one
      let byte = bytes[at++]!;
      let strip = byte & 0x7f;
      while (byte & 0x80) {
        byte = bytes[at++]!;
        strip = ((strip + 1) << 7) | (byte & 0x7f);
      }
      const end = bytes.indexOf(0, at);
      if (end < 0 || end >= body || strip > previous.length) return undefined;
      previous = Buffer.concat([previous.subarray(0, previous.length - strip), bytes.subarray(at, end)]);
      path = previous.toString('utf8');
      at = end + 1;
    } else {
      const end = bytes.indexOf(0, at);
      if (end < 0 || end >= body) return undefined;
      path = bytes.toString('utf8', at, end);
      // padded with 1 to 8 NULs to a multiple of 8 bytes from the entry's start
      at = start + Math.ceil((end + 1 - start) / 8) * 8;
    }
    if ((mode & 0o170000) === 0o040000) return undefined; // a sparse directory entry
    entries.push({ path, mode, oid, size });
  }
  // extensions: a split index keeps entries in another file
  while (at + 8 <= body) {
    const signature = bytes.toString('latin1', at, at + 4);
    if (signature === 'link' || signature === 'sdir') return undefined;
    at += 8 + bytes.readUInt32BE(at + 4);
  }
  return at === body ? entries : undefined;
}
