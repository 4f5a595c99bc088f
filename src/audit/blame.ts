// `coffer blame`: for each key path of a file today, the commit that last changed its value.
import type { KeyEvent, SecretHistory } from './history.js';
import { pathsOfFile } from './history.js';
import type { EncryptedVersion } from './versions.js';

export interface KeyBlame {
  keyPath: string;
  /** The last certain change (added or changed); its date is the secret's age. */
  commit: string;
  author: string;
  date: string;
  ageDays: number;
  event: 'added' | 'changed';
  /** A later re-encryption that may have hidden a change (without a key it cannot be told apart). */
  reEncryptedAt?: { commit: string; date: string };
}

/** Blame for every key path of `file` at the walked ref; undefined when the file is not a secrets file there. */
export async function blameFile(history: SecretHistory, file: string, now = new Date()): Promise<KeyBlame[] | undefined> {
  const oid = history.head.get(file);
  if (!oid) return undefined;
  const version = await history.versionOf(oid, file);
  if (version.kind !== 'encrypted') return undefined;
  const paths = pathsOfFile(history, file);
  const lastChange = new Map<string, KeyEvent>();
  const lastReEncryption = new Map<string, KeyEvent>();
  for (const event of history.events) {
    if (!paths.has(event.file) || event.keyPath === null) continue;
    if (event.event === 'added' || event.event === 'changed') {
      lastChange.set(event.keyPath, event);
      lastReEncryption.delete(event.keyPath);
    } else if (event.event === 're-encrypted' && !event.decrypted) lastReEncryption.set(event.keyPath, event);
    else if (event.event === 'removed') lastChange.delete(event.keyPath);
  }
  return [...(version as EncryptedVersion).values.keys()].flatMap((keyPath) => {
    const change = lastChange.get(keyPath);
    if (!change) return [];
    const later = lastReEncryption.get(keyPath);
    return [
      {
        keyPath,
        commit: change.commit,
        author: change.author,
        date: change.date,
        ageDays: Math.floor((now.getTime() - Date.parse(change.date)) / 86_400_000),
        event: change.event as 'added' | 'changed',
        ...(later ? { reEncryptedAt: { commit: later.commit, date: later.date } } : {}),
      },
    ];
  });
}
