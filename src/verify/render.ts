// The three outputs of `coffer verify`: text grouped by file, JSON, and SARIF 2.1.0 for GitHub
// code scanning. None of them ever holds a value: problems carry key paths only.
import { countBySeverity, RULES, type RuleId, type VerifyReport } from './report.js';

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/** Problems grouped by file, each with its line or key path, then a one-line summary. */
export function renderText(report: VerifyReport): string {
  const lines: string[] = [];
  let current: string | undefined;
  for (const item of report.problems) {
    if (item.file !== current) {
      if (current !== undefined) lines.push('');
      lines.push(item.file);
      current = item.file;
    }
    const where = item.line !== undefined ? `:${item.line}` : '';
    lines.push(`  ${item.severity}${where}  [${item.rule}] ${item.message}`);
    if (item.hint) lines.push(`      hint: ${item.hint}`);
  }
  if (lines.length > 0) lines.push('');
  const counts = countBySeverity(report.problems);
  const affected = new Set(report.problems.filter((item) => item.severity !== 'note').map((item) => item.file)).size;
  const mode = report.keyless ? 'keyless' : `${report.decrypted} of ${plural(report.files, 'file')} decrypted`;
  const source = report.source === 'index' ? ', staged' : '';
  lines.push(
    counts.error + counts.warning === 0
      ? `ok: ${plural(report.files, 'file')} verified against ${report.policy} (${mode}${source})`
      : `${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')} in ${affected} of ${plural(report.files, 'file')} (${mode}${source})`,
  );
  return `${lines.join('\n')}\n`;
}

export function toJsonReport(report: VerifyReport): Record<string, unknown> {
  return { ...report, counts: countBySeverity(report.problems) };
}

const INFORMATION_URI = 'https://github.com/coffer/coffer';

/** A SARIF 2.1.0 log with one run; locations are relative to the policy's directory (SRCROOT). */
export function toSarif(report: VerifyReport, version: string): Record<string, unknown> {
  const ruleIds = Object.keys(RULES) as RuleId[];
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'coffer',
            version,
            informationUri: INFORMATION_URI,
            rules: ruleIds.map((id) => ({
              id,
              name: id.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase()),
              shortDescription: { text: RULES[id].text },
              defaultConfiguration: { level: RULES[id].level },
            })),
          },
        },
        originalUriBaseIds: { SRCROOT: { description: { text: 'the directory of the policy file (coffer.yaml or .sops.yaml)' } } },
        results: report.problems.map((item) => ({
          ruleId: item.rule,
          ruleIndex: ruleIds.indexOf(item.rule),
          level: item.severity,
          message: { text: `${item.message}${item.hint ? ` (${item.hint})` : ''}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: item.file, uriBaseId: 'SRCROOT' },
                ...(item.line !== undefined ? { region: { startLine: item.line } } : {}),
              },
              ...(item.keyPath ? { logicalLocations: [{ fullyQualifiedName: item.keyPath, kind: 'member' }] } : {}),
            },
          ],
        })),
      },
    ],
  };
}
