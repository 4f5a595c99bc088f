// Where decrypt mode puts the selected values (the `export-to` input): step outputs (default:
// only steps that ask for them see the values), the job's environment (every later step), or a
// 0600 file in the Action's private directory under RUNNER_TEMP that the post step removes.
import { CofferError } from '../../src/errors.js';
import { formatDotenv } from '../../src/import/dotenv.js';
import type { ExportedValue } from './selection.js';

export const EXPORT_TARGETS = ['outputs', 'env', 'dotenv-file', 'json-file'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

/** `outputs`, `env,dotenv-file`...: comma- or newline-separated, each once. */
export function parseExportTargets(text: string): ExportTarget[] {
  const targets = new Set<ExportTarget>();
  for (const entry of text.split(/[\n,]/).map((item) => item.trim()).filter(Boolean)) {
    if (!(EXPORT_TARGETS as readonly string[]).includes(entry)) {
      throw new CofferError('USAGE', `export-to: unknown target "${entry.slice(0, 30)}"`, { hints: [`use one or more of ${EXPORT_TARGETS.join(', ')}, separated by commas`] });
    }
    targets.add(entry as ExportTarget);
  }
  return targets.size === 0 ? ['outputs'] : [...targets];
}

/** The dotenv file: `NAME=value` lines that dotenv readers (and `coffer import`) parse back exactly. */
export function renderDotenvFile(values: readonly ExportedValue[]): string {
  return formatDotenv(values.map((item) => [item.name, item.value]));
}

/** The JSON file: one object, names to string values, in selection order. */
export function renderJsonFile(values: readonly ExportedValue[]): string {
  return `${JSON.stringify(Object.fromEntries(values.map((item) => [item.name, item.value])), null, 2)}\n`;
}
