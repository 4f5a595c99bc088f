// `coffer audit --anomalies`: changes to production secrets by authors who cannot read them, mass
// changes, changes outside the working window, recipients added straight into a file, and secrets
// a since-revoked reader could read that were never rotated afterwards.
import { CofferError } from '../errors.js';
import { type CofferConfig, expandRecipients } from '../policy/coffer-config.js';
import { blameFile } from './blame.js';
import type { AuditFinding } from './findings.js';
import { pathsOfFile, type SecretHistory } from './history.js';
import type { PolicyTimeline } from './policy-history.js';

export interface ChangeWindow {
  /** 0 = Sunday ... 6 = Saturday. */
  days: Set<number>;
  /** Minutes after midnight, author's local time: [start, end). */
  start: number;
  end: number;
}

export interface AnomalyOptions {
  config?: CofferConfig;
  policy?: PolicyTimeline;
  environmentOf: (path: string) => string | undefined;
  /** Environments whose changes need a reader as author (default: names containing "prod"). */
  production?: string[];
  /** Key changes in one commit that count as a mass change. */
  massThreshold: number;
  window?: ChangeWindow;
  now: Date;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Parses `Mon-Fri 08:00-18:00` (days optional, `Sat,Sun` lists allowed). */
export function parseChangeWindow(text: string): ChangeWindow {
  const invalid = () =>
    new CofferError('USAGE', `--window "${text.slice(0, 40)}" is not a change window`, { hints: ['write it as "Mon-Fri 08:00-18:00", "Mon,Wed 9-17" or "07:00-20:00"'] });
  const match = /^(?:([A-Za-z,-]+)\s+)?(\d{1,2})(?::(\d{2}))?-(\d{1,2})(?::(\d{2}))?$/.exec(text.trim());
  if (!match) throw invalid();
  const days = new Set<number>();
  for (const part of (match[1] ?? 'mon-sun').toLowerCase().split(',')) {
    const [from, to] = part.split('-').map((day) => DAYS.indexOf(day.slice(0, 3)));
    if (from === undefined || from < 0 || (to !== undefined && to < 0)) throw invalid();
    for (let day = from; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === (to ?? from)) break;
    }
  }
  const start = Number(match[2]) * 60 + Number(match[3] ?? 0);
  const end = Number(match[4]) * 60 + Number(match[5] ?? 0);
  if (start >= end || end > 24 * 60) throw invalid();
  return { days, start, end };
}

const VALUE_EVENTS = new Set(['added', 'changed', 'removed']);

export async function findAnomalies(history: SecretHistory, options: AnomalyOptions): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  const commits = new Map(history.commits.map((commit) => [commit.oid, commit]));
  const config = options.config;
  const production = options.production ?? config?.environments.map((environment) => environment.name).filter((name) => /prod/i.test(name)) ?? [];
  const byCommit = new Map<string, typeof history.events>();
  for (const event of history.events) byCommit.set(event.commit, [...(byCommit.get(event.commit) ?? []), event]);

  for (const [oid, events] of byCommit) {
    const commit = commits.get(oid)!;
    const base = { commit: oid, date: events[0]!.date, author: commit.author.name };
    const valueEvents = events.filter((event) => VALUE_EVENTS.has(event.event));
    // production changes by someone who is not a reader of that environment
    if (config) {
      const recipient = [...config.recipients.values()].find(
        (item) => (item.email && item.email.toLowerCase() === commit.author.email.toLowerCase()) || item.name.toLowerCase() === commit.author.name.toLowerCase(),
      );
      for (const environmentName of production) {
        const touched = valueEvents.filter((event) => options.environmentOf(event.file) === environmentName);
        if (touched.length === 0) continue;
        const environment = config.environments.find((item) => item.name === environmentName);
        const readers = environment ? expandRecipients(config, (environment.keyGroups ?? [environment.readers]).flat()) : [];
        if (recipient && readers.includes(recipient.name)) continue;
        findings.push({
          kind: 'production change by non-reader',
          ...base,
          file: touched[0]!.file,
          keyPaths: touched.map((event) => event.keyPath ?? '*'),
          message: `${commit.author.name} <${commit.author.email}> changed ${touched.length} ${environmentName} secret${touched.length === 1 ? '' : 's'} but ${recipient ? `"${recipient.name}" is not a reader of ${environmentName}` : 'is no recipient in coffer.yaml'}`,
        });
      }
    }
    if (valueEvents.length >= options.massThreshold) {
      const files = [...new Set(valueEvents.map((event) => event.file))];
      findings.push({ kind: 'mass change', ...base, message: `${valueEvents.length} secret values changed in one commit across ${files.length} file${files.length === 1 ? '' : 's'}` });
    }
    if (options.window && valueEvents.length > 0) {
      const local = new Date((commit.author.timestamp - commit.author.timezoneOffset * 60) * 1000);
      const minutes = local.getUTCHours() * 60 + local.getUTCMinutes();
      if (!options.window.days.has(local.getUTCDay()) || minutes < options.window.start || minutes >= options.window.end) {
        findings.push({
          kind: 'change outside window',
          ...base,
          file: valueEvents[0]!.file,
          message: `secrets changed on ${DAYS[local.getUTCDay()]} at ${String(local.getUTCHours()).padStart(2, '0')}:${String(local.getUTCMinutes()).padStart(2, '0')} (author's time), outside the change window`,
        });
      }
    }
    if (options.policy) {
      for (const event of events) {
        if (event.event !== 'recipients changed' || !event.recipientsAdded?.length) continue;
        const known = await options.policy.knownAt(oid);
        const strangers = event.recipientsAdded.filter((key) => !known.has(key));
        if (strangers.length > 0) {
          findings.push({
            kind: 'recipient added directly',
            ...base,
            file: event.file,
            recipients: strangers,
            message: `${event.file}: ${strangers.length} key${strangers.length === 1 ? '' : 's'} that no recipient in coffer.yaml owns added straight into the file`,
          });
        }
      }
    }
  }

  // readers removed from a file whose values were never changed afterwards
  const names = options.policy && history.commits.length ? await options.policy.knownAt(history.commits.at(-1)!.oid) : new Map<string, string>();
  for (const [file, oid] of history.head) {
    const current = await history.versionOf(oid, file);
    if (current.kind !== 'encrypted') continue;
    const paths = pathsOfFile(history, file);
    const revokedAt = new Map<string, { commit: string; date: string }>();
    for (const event of history.events) {
      if (!paths.has(event.file) || event.event !== 'recipients changed') continue;
      for (const key of event.recipientsRemoved ?? []) if (!current.recipients.includes(key)) revokedAt.set(key, { commit: event.commit, date: event.date });
    }
    if (revokedAt.size === 0) continue;
    const blame = (await blameFile(history, file, options.now)) ?? [];
    for (const [key, removal] of revokedAt) {
      const stale = blame.filter((row) => Date.parse(row.date) <= Date.parse(removal.date)).map((row) => row.keyPath);
      if (stale.length === 0) continue;
      const who = names.get(key) ?? key;
      findings.push({
        kind: 'revoked reader, not rotated',
        commit: removal.commit,
        date: removal.date,
        author: commits.get(removal.commit)?.author.name ?? '',
        file,
        keyPaths: stale,
        recipients: [who],
        message: `${file}: ${who} lost access in ${removal.commit.slice(0, 7)} but ${stale.length} value${stale.length === 1 ? '' : 's'} they could read never changed since`,
      });
    }
  }
  return findings;
}
