// Finished answers of `coffer log FILE` under .git/coffer/answers/: the keyless history of one file
// (renames followed) as of one commit. Given that commit, the policy file and coffer's version, the
// answer cannot change, so a repeated run reads one small file instead of walking the history.
// One file per (key, head): the key names everything but the head, so the answers of earlier
// heads can be found and extended when HEAD moved on. Only ENC strings, oids and commit headers
// go in (nothing decrypted); an unreadable or foreign file, or one another user could have written,
// is ignored and rewritten.
// Loads nothing but node:fs and node:path: a hit must not pay for the parsers, nor for node:crypto
// (3-5 ms to load), so the key's inputs (policy bytes included) are stored and compared exactly,
// and only the file name is a short non-cryptographic hash of them.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCacheFile, writeCacheFile } from '../io/user-cache.js';
import { VERSION } from '../version.js';
import type { FileRevision, KeyEvent } from './history.js';

/** Bumped whenever what an answer holds or means changes. */
const FORMAT = 2;
/** Answers kept per key (per file and policy); the oldest go first. */
const KEPT_PER_KEY = 8;

/** The walk's result for one file, before secrets-file filtering (so a later commit can still widen it). */
export interface FileHistoryRecord {
  /** The walked commit (the resolved ref). */
  head: string;
  /** The file's repository path at `head`. */
  file: string;
  /** The file and its earlier names, in the order the walk followed them. */
  tracked: string[];
  /** Tracked paths that are secrets files: claimed by the policy, or encrypted in some version. */
  secretPaths: string[];
  /** Every event of a tracked path, secrets file or not. */
  events: KeyEvent[];
  renames: { commit: string; from: string; to: string }[];
  revisions: FileRevision[];
  /** Blob oid of each tracked path at `head` ('' when absent): where new commits are compared from. */
  tips: Record<string, string>;
  /** Some version has a PGP recipient: the user's gpg might decrypt it, so a run with keys must walk. */
  pgp: boolean;
  /** Some version has an SSH recipient: the user's ~/.ssh keys might decrypt it, so a run with one must walk. */
  ssh: boolean;
}

export interface FileAnswer extends FileHistoryRecord {
  format: number;
  version: string;
  /** Everything the answer depends on but the head (AnswerKey.source), compared on every read. */
  source: string;
  /** coffer.yaml environment of each tracked path that has one (for `--env`). */
  environments: Record<string, string>;
}

export interface AnswerKeyInput {
  /** Repository path of the file. */
  file: string;
  /** The policy file that applies (its absolute path, kind and bytes), or undefined. */
  policy?: { kind: string; path: string; bytes: Uint8Array };
  /** .git/shallow's commits: deepening a clone lengthens the history of the same head. */
  shallow: readonly string[];
}

export interface AnswerKey {
  /** What the answer depends on but the head, as one string (the policy's bytes as latin1: one character per byte). */
  source: string;
  /** A short hash of `source`: the answer files' name prefix. */
  name: string;
}

/** FNV-1a, two 32-bit lanes: enough to spread names; `source` itself is what is compared. */
function shortHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** The key of everything an answer depends on except the head. */
export function answerKey(input: AnswerKeyInput): AnswerKey {
  const policy = input.policy ? [input.policy.kind, input.policy.path, Buffer.from(input.policy.bytes).toString('latin1')] : null;
  const source = JSON.stringify([FORMAT, VERSION, input.file, policy, [...input.shallow].sort()]);
  return { source, name: shortHash(source) };
}

const answersDir = (gitdir: string) => join(gitdir, 'coffer', 'answers');
const answerFile = (gitdir: string, name: string, head: string) => join(answersDir(gitdir), `${name}-${head}.json`);
const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
const isRecord = (value: unknown): value is Record<string, string> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The stored answer for (key, head), or undefined when there is none or it is damaged or foreign. */
export function readAnswer(gitdir: string, key: AnswerKey, head: string): FileAnswer | undefined {
  // whoever can write the file decides what log shows: readCacheFile takes only the user's own, writable by nobody else
  const data = readCacheFile(answerFile(gitdir, key.name, head)) as Partial<FileAnswer> | null | undefined;
  const valid =
    typeof data === 'object' &&
    data !== null &&
    data.format === FORMAT &&
    data.version === VERSION &&
    data.source === key.source &&
    data.head === head &&
    typeof data.file === 'string' &&
    isStrings(data.tracked) &&
    data.tracked[0] === data.file &&
    isStrings(data.secretPaths) &&
    Array.isArray(data.events) &&
    data.events.every((event) => typeof event?.commit === 'string' && typeof event.file === 'string' && typeof event.event === 'string') &&
    Array.isArray(data.renames) &&
    Array.isArray(data.revisions) &&
    isRecord(data.tips) &&
    isRecord(data.environments) &&
    typeof data.pgp === 'boolean' &&
    typeof data.ssh === 'boolean';
  return valid ? (data as FileAnswer) : undefined;
}

/** Heads with a stored answer under `key`. */
export function listAnswerHeads(gitdir: string, key: AnswerKey): string[] {
  try {
    return readdirSync(answersDir(gitdir))
      .filter((name) => name.startsWith(`${key.name}-`) && name.endsWith('.json'))
      .map((name) => name.slice(key.name.length + 1, -'.json'.length))
      .filter((head) => /^[0-9a-f]{40,64}$/.test(head));
  } catch {
    return [];
  }
}

/** Stores an answer atomically and drops the oldest answers of its key beyond a few; errors are ignored (a cache is optional). */
export function writeAnswer(gitdir: string, record: FileHistoryRecord, key: AnswerKey, environments: Record<string, string>): void {
  const answer: FileAnswer = { ...record, format: FORMAT, version: VERSION, source: key.source, environments };
  const file = answerFile(gitdir, key.name, record.head);
  if (!writeCacheFile(file, JSON.stringify(answer))) return;
  try {
    const heads = listAnswerHeads(gitdir, key);
    if (heads.length <= KEPT_PER_KEY) return;
    const byAge = heads.map((head) => ({ head, time: statSync(answerFile(gitdir, key.name, head)).mtimeMs })).sort((a, b) => a.time - b.time);
    for (const { head } of byAge.slice(0, heads.length - KEPT_PER_KEY)) if (head !== record.head) rmSync(answerFile(gitdir, key.name, head), { force: true });
  } catch {
    // pruning is best effort too
  }
}

/** What `coffer log FILE` shows of a record: only secrets files' events, revisions and head version. */
export function recordHistory(record: FileHistoryRecord): { events: KeyEvent[]; renames: FileHistoryRecord['renames']; revisions: FileRevision[]; head: Map<string, string> } {
  const secretPaths = new Set(record.secretPaths);
  const tip = record.tips[record.file];
  return {
    events: record.events.filter((event) => secretPaths.has(event.file)),
    renames: record.renames,
    revisions: record.revisions.filter((revision) => secretPaths.has(revision.path)),
    head: new Map(tip && secretPaths.has(record.file) ? [[record.file, tip]] : []),
  };
}
