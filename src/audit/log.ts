// Choosing events for `coffer log`: by date, author, environment, file (following renames) and key path.
import { CofferError } from '../errors.js';
import type { KeyEvent, SecretHistory } from './history.js';

export interface EventFilter {
  since?: Date;
  until?: Date;
  /** Case-insensitive part of the author's name or email. */
  author?: string;
  /** Only this file (its current path; earlier names are followed). */
  file?: string;
  /** A key path or a prefix of one (`db` selects `db.password`); `*` matches within a segment. */
  keyPath?: string;
  /** Only files of this environment. */
  environment?: string;
  environmentOf?: (path: string) => string | undefined;
}

/** Whether a dotted key path is selected by a pattern: equal, a parent of it, or a `*` glob. */
export function matchesKeyPath(keyPath: string, pattern: string): boolean {
  if (keyPath === pattern || keyPath.startsWith(`${pattern}.`)) return true;
  if (!pattern.includes('*')) return false;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^.]*');
  return new RegExp(`^${source}(\\..*)?$`).test(keyPath);
}

export function filterEvents(history: Pick<SecretHistory, 'renames'>, events: readonly KeyEvent[], filter: EventFilter): KeyEvent[] {
  const paths = filter.file !== undefined ? pathsOfFile(history, filter.file) : undefined;
  const author = filter.author?.toLowerCase();
  return events.filter((event) => {
    const time = Date.parse(event.date);
    if (filter.since && time < filter.since.getTime()) return false;
    if (filter.until && time > filter.until.getTime()) return false;
    if (author && !event.author.toLowerCase().includes(author) && !event.authorEmail.toLowerCase().includes(author)) return false;
    if (paths && !paths.has(event.file)) return false;
    // file-level events (recipients, data key) concern every key of the file
    if (filter.keyPath !== undefined && event.keyPath !== null && !matchesKeyPath(event.keyPath, filter.keyPath)) return false;
    if (filter.environment !== undefined && filter.environmentOf?.(event.file) !== filter.environment) return false;
    return true;
  });
}

const DURATION = /^(\d+)\s*([hdwmy])$/;
const UNIT_DAYS: Record<string, number> = { h: 1 / 24, d: 1, w: 7, m: 30, y: 365 };

/** Days in a duration such as `90d`, `12w`, `6m`, `1y`, `36h`. */
export function parseDuration(text: string, option: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new CofferError('USAGE', `${option} "${text.slice(0, 20)}" is not a duration`, { hints: [`write ${option} as a number and a unit: 36h, 14d, 12w, 6m, 1y`] });
  return Number(match[1]) * UNIT_DAYS[match[2]!]!;
}

/** A date option: an ISO date or time, or a duration ago (`30d`). */
export function parseDateOption(text: string, option: string, now = new Date()): Date {
  if (DURATION.test(text.trim())) return new Date(now.getTime() - parseDuration(text, option) * 86_400_000);
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new CofferError('USAGE', `${option} "${text.slice(0, 30)}" is not a date`, { hints: [`write ${option} as 2024-05-01, 2024-05-01T12:00:00Z or a duration ago such as 30d`] });
  return new Date(time);
}

/** A path and every earlier path it was renamed from. */
export function pathsOfFile(history: Pick<SecretHistory, 'renames'>, path: string): Set<string> {
  const paths = new Set([path]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const rename of history.renames) {
      if (paths.has(rename.to) && !paths.has(rename.from)) {
        paths.add(rename.from);
        grew = true;
      }
    }
  }
  return paths;
}
