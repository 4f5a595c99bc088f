// `coffer report`: an access and change report for an auditor, as Markdown or HTML. Both come from
// one list of sections (title, note, table), so they always say the same.
import type { FileAccess } from '../policy/inventory.js';
import type { AuditFinding } from './findings.js';
import type { KeyEvent } from './history.js';
import type { SecretStatus } from './status.js';

export interface ReportData {
  repository: string;
  generatedAt: Date;
  since: Date;
  access?: FileAccess[];
  changes: KeyEvent[];
  status: SecretStatus[];
  anomalies: AuditFinding[];
}

interface Section {
  title: string;
  note?: string;
  header: string[];
  rows: string[][];
  empty: string;
}

const day = (iso: string) => iso.slice(0, 10);

function sectionsOf(data: ReportData): Section[] {
  return [
    {
      title: 'Who can read what',
      note: data.access ? 'From each file\'s own metadata at the time of the report, compared with coffer.yaml.' : 'No coffer.yaml: recipients are listed per file in the change log below.',
      header: ['File', 'Environment', 'Readers', 'Status'],
      rows: (data.access ?? []).map((row) => [
        row.path,
        row.environment ?? '-',
        row.keyGroups ? `${row.threshold} of ${row.keyGroups.map((group) => `[${group.join(', ')}]`).join(' ')}` : row.readers.join(', ') || '-',
        row.status === 'drift' ? `drift (not in policy: ${row.notInPolicy.join(', ') || '-'}; not in file: ${row.notInFile.join(', ') || '-'})` : row.status,
      ]),
      empty: 'No secrets files.',
    },
    {
      title: `Changes since ${day(data.since.toISOString())}`,
      note: 'Every secret key event in git history; values are never shown. "re-encrypted" means new ciphertext whose plaintext could not be compared.',
      header: ['Date', 'Commit', 'Author', 'File', 'Key path', 'Event'],
      rows: data.changes.map((event) => [
        day(event.date),
        event.commit.slice(0, 7),
        `${event.author} <${event.authorEmail}>`,
        event.file,
        event.keyPath ?? '(whole file)',
        event.event === 'recipients changed'
          ? `recipients changed (+${event.recipientsAdded?.length ?? 0} -${event.recipientsRemoved?.length ?? 0})`
          : event.event,
      ]),
      empty: 'No changes in the period.',
    },
    {
      title: 'Rotation status',
      note: 'Age of each value since its last change, against rotate/expires in the schemas.',
      header: ['File', 'Key path', 'Last changed', 'Age', 'Rule', 'Status'],
      rows: data.status.map((row) => [
        row.file,
        row.keyPath,
        day(row.lastChanged),
        `${row.ageDays}d`,
        [row.rotate ? `rotate ${row.rotate}` : '', row.expires ? `expires ${row.expires}` : ''].filter(Boolean).join(', ') || '-',
        row.state,
      ]),
      empty: 'No secrets.',
    },
    {
      title: 'Open anomalies',
      header: ['Date', 'Commit', 'Kind', 'Finding'],
      rows: data.anomalies.map((finding) => [day(finding.date), finding.commit.slice(0, 7), finding.kind, finding.message]),
      empty: 'None found.',
    },
  ];
}

const markdownCell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function renderMarkdownReport(data: ReportData): string {
  const lines = [`# Secrets access and change report`, '', `Repository: \`${data.repository}\`  `, `Period: ${day(data.since.toISOString())} to ${day(data.generatedAt.toISOString())}  `, `Generated: ${data.generatedAt.toISOString()}`];
  for (const section of sectionsOf(data)) {
    lines.push('', `## ${section.title}`, '');
    if (section.note) lines.push(section.note, '');
    if (section.rows.length === 0) {
      lines.push(section.empty);
      continue;
    }
    lines.push(`| ${section.header.join(' | ')} |`, `|${section.header.map(() => ' --- ').join('|')}|`);
    for (const row of section.rows) lines.push(`| ${row.map(markdownCell).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

const escapeHtml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

export function renderHtmlReport(data: ReportData): string {
  const parts = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Secrets access and change report</title>',
    '<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}</style>',
    '</head><body>',
    '<h1>Secrets access and change report</h1>',
    `<p>Repository: <code>${escapeHtml(data.repository)}</code><br>Period: ${day(data.since.toISOString())} to ${day(data.generatedAt.toISOString())}<br>Generated: ${data.generatedAt.toISOString()}</p>`,
  ];
  for (const section of sectionsOf(data)) {
    parts.push(`<h2>${escapeHtml(section.title)}</h2>`);
    if (section.note) parts.push(`<p>${escapeHtml(section.note)}</p>`);
    if (section.rows.length === 0) {
      parts.push(`<p>${escapeHtml(section.empty)}</p>`);
      continue;
    }
    parts.push(`<table><thead><tr>${section.header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr></thead><tbody>`);
    for (const row of section.rows) parts.push(`<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`);
    parts.push('</tbody></table>');
  }
  parts.push('</body></html>');
  return `${parts.join('\n')}\n`;
}
