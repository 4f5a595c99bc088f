// `expires` and `rotate` in two halves: the facts a file shows (which dated values it has, its
// lastmodified), collected when the file is parsed, and the judgement of those facts at a given
// time. The facts depend only on the file's bytes and its schema, so they can be cached; the
// judgement depends on the clock, so it runs on every verify.
import { parseDuration, parseExpiry } from '../schema/annotations.js';
import { type Problem, problem } from './report.js';

/** One value of the file whose schema dates it. */
export interface DatedValue {
  /** Dotted key path. */
  keyPath: string;
  /** `x-coffer.expires` as written. */
  expires?: string;
  /** `x-coffer.rotate` as written. */
  rotate?: string;
}

export interface DateFacts {
  /** The file's sops.lastmodified as written. */
  lastModified: string;
  /** Dated values present in the file, in schema order. */
  values: DatedValue[];
}

const EXPIRY_WARNING = 14 * 24 * 60 * 60 * 1000;

/** The expired, soon-expiring and rotation-due values of `file` at `now` (rotation counts from lastmodified). */
export function judgeDates(file: string, facts: DateFacts, now: Date): Problem[] {
  const problems: Problem[] = [];
  const modified = new Date(facts.lastModified);
  for (const { keyPath, expires: expiresText, rotate } of facts.values) {
    const expires = expiresText === undefined ? undefined : parseExpiry(expiresText);
    if (expires && expires.getTime() <= now.getTime()) {
      problems.push(problem('expired', file, `${keyPath} expired on ${expiresText}`, { keyPath, hint: `replace it: coffer set ${file} ${keyPath} --generate` }));
    } else if (expires && expires.getTime() - now.getTime() < EXPIRY_WARNING) {
      problems.push(problem('expired', file, `${keyPath} expires on ${expiresText}`, { keyPath, severity: 'warning' }));
    }
    const period = rotate === undefined ? undefined : parseDuration(rotate);
    if (period !== undefined && !Number.isNaN(modified.getTime()) && now.getTime() - modified.getTime() > period) {
      problems.push(
        problem('rotation-due', file, `${keyPath} must be rotated every ${rotate}; the file was last changed ${facts.lastModified}`, {
          keyPath,
          hint: `coffer set ${file} ${keyPath} --generate`,
        }),
      );
    }
  }
  return problems;
}
