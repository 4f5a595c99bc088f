// `coffer status`: every secret's age (from blame) against its rotate/expires rule from the schemas.
import type { PathSegment } from '../format/tree.js';
import type { KeyBlame } from './blame.js';

export interface LifetimeRule {
  /** A duration such as `90d`. */
  rotate?: string;
  /** A date or RFC 3339 time. */
  expires?: string;
}

export type SecretState = 'ok' | 'due soon' | 'overdue' | 'expired' | 'no rule';

export interface SecretStatus {
  file: string;
  keyPath: string;
  state: SecretState;
  lastChanged: string;
  ageDays: number;
  rotate?: string;
  expires?: string;
  /** When the next rotation is due, or the value expires (whichever first). */
  dueAt?: string;
}

export interface StatusOptions {
  now: Date;
  /** "Due soon" this many days before a deadline. */
  windowDays: number;
  /** Milliseconds of a rotate duration (the schema module's parser). */
  parseDuration: (text: string) => number | undefined;
  parseExpiry: (text: string) => Date | undefined;
}

const DAY = 86_400_000;

export function describeSecretStatus(
  file: string,
  rows: readonly KeyBlame[],
  ruleAt: (keyPath: string, segments: PathSegment[] | undefined) => LifetimeRule | undefined,
  segmentsOf: (keyPath: string) => PathSegment[] | undefined,
  options: StatusOptions,
): SecretStatus[] {
  const now = options.now.getTime();
  return rows.map((row) => {
    const rule = ruleAt(row.keyPath, segmentsOf(row.keyPath));
    const base = { file, keyPath: row.keyPath, lastChanged: row.date, ageDays: row.ageDays };
    if (!rule?.rotate && !rule?.expires) return { ...base, state: 'no rule' as const };
    const rotateMs = rule.rotate ? options.parseDuration(rule.rotate) : undefined;
    const expiry = rule.expires ? options.parseExpiry(rule.expires) : undefined;
    const deadlines = [rotateMs !== undefined ? Date.parse(row.date) + rotateMs : undefined, expiry?.getTime()].filter((time): time is number => time !== undefined);
    const dueAt = deadlines.length ? Math.min(...deadlines) : undefined;
    const state: SecretState =
      expiry && expiry.getTime() <= now
        ? 'expired'
        : rotateMs !== undefined && Date.parse(row.date) + rotateMs <= now
          ? 'overdue'
          : dueAt !== undefined && dueAt - now <= options.windowDays * DAY
            ? 'due soon'
            : 'ok';
    return {
      ...base,
      state,
      ...(rule.rotate ? { rotate: rule.rotate } : {}),
      ...(rule.expires ? { expires: rule.expires } : {}),
      ...(dueAt !== undefined ? { dueAt: new Date(dueAt).toISOString() } : {}),
    };
  });
}
