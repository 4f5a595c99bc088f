// The GitHub Actions runner protocol, written out so the Action needs no dependency: workflow
// commands on stdout (`::add-mask::`, `::error file=..,line=..::`) and the file commands
// (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE: `name<<DELIMITER` heredocs; GITHUB_STEP_SUMMARY:
// markdown appended). Escaping follows the runner's ActionCommand parser: `%`, CR and LF in data;
// also `:` and `,` in properties.
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';
import { CofferError } from '../../src/errors.js';

export interface Runner {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes one line of the step's log (workflow commands included). */
  readonly write: (line: string) => void;
}

export function processRunner(): Runner {
  return { env: process.env, write: (line) => process.stdout.write(`${line}${EOL}`) };
}

export function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

export function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

/** `::command key=value,...::message` */
export function formatCommand(command: string, properties: Readonly<Record<string, string | number | undefined>>, message: string): string {
  const props = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  return `::${command}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

/** `INPUT_<NAME>` as the runner sets it (spaces become `_`, upper case), trimmed. */
export function readInput(runner: Runner, name: string): string {
  return (runner.env[`INPUT_${name.replaceAll(' ', '_').toUpperCase()}`] ?? '').trim();
}

export function readBooleanInput(runner: Runner, name: string, fallback: boolean): boolean {
  const text = readInput(runner, name);
  if (text === '') return fallback;
  if (['true', 'True', 'TRUE'].includes(text)) return true;
  if (['false', 'False', 'FALSE'].includes(text)) return false;
  throw new TypeError(`input ${name} must be true or false`);
}

/** Registers a secret with the runner: from this line on, the log shows `***` instead. */
export function addMask(runner: Runner, secret: string): void {
  if (secret !== '') runner.write(formatCommand('add-mask', {}, secret));
}

/** One heredoc record; the delimiter is random and checked, so no value can end the record early. */
export function formatFileCommand(name: string, value: string, delimiter = `ghadelimiter_${randomUUID()}`): string {
  if (name.includes(delimiter) || value.includes(delimiter)) throw new Error(`unexpected delimiter collision in ${name}`);
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`;
}

function fileOf(runner: Runner, variable: string): string {
  const file = runner.env[variable];
  if (!file) throw new CofferError('USAGE', `${variable} is not set: the coffer Action runs inside a GitHub Actions job`, { hints: ['use a runner that supports file commands (actions/runner 2.297 or later)'] });
  return file;
}

export function setOutput(runner: Runner, name: string, value: string): void {
  appendFileSync(fileOf(runner, 'GITHUB_OUTPUT'), formatFileCommand(name, value));
}

export function exportVariable(runner: Runner, name: string, value: string): void {
  appendFileSync(fileOf(runner, 'GITHUB_ENV'), formatFileCommand(name, value));
}

/** Saved for the post step, which reads it back as `STATE_<name>`. */
export function saveState(runner: Runner, name: string, value: string): void {
  appendFileSync(fileOf(runner, 'GITHUB_STATE'), formatFileCommand(name, value));
}

export function readState(runner: Runner, name: string): string {
  return runner.env[`STATE_${name}`] ?? '';
}

export function appendSummary(runner: Runner, markdown: string): void {
  const file = runner.env['GITHUB_STEP_SUMMARY'];
  if (file) appendFileSync(file, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  file?: string;
  line?: number;
  title?: string;
}

export function annotate(runner: Runner, annotation: Annotation): void {
  runner.write(formatCommand(annotation.level, { title: annotation.title, file: annotation.file, line: annotation.line }, annotation.message));
}
