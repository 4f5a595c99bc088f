// The checks on one secrets file. Keyless: it is a SOPS file, its metadata is well formed, every
// value the selection rule covers is a well-formed ENC[...], the recipients are the policy's, the
// visible structure fits the schema, nothing is expired. With a key: the MAC, the values against
// the schema and password strength. Every finding is collected; nothing stops at the first.
// The keyless checks never look at the clock: they return the facts expiry and rotation are
// judged by (dates.ts), so their result depends on the file's bytes alone and can be cached.
import type { KeyRing, RecipientPlan } from '../file/key-ring.js';
import { recipientPlanOf } from '../file/key-ring.js';
import { parseEncryptedValue } from '../format/encrypted-value.js';
import { effectiveSelectionRule, type Metadata, parseMetadata } from '../format/metadata.js';
import { createLeafSelector } from '../format/selection.js';
import { getStore } from '../format/stores/index.js';
import type { PlainValue, StoreDocument, StoreName } from '../format/tree.js';
import { VALUE_TYPES } from '../format/values.js';
import { CofferError, isCofferError } from '../errors.js';
import { annotationAt, listAnnotatedProperties } from '../schema/walk.js';
import { requiredStrength } from '../schema/annotations.js';
import { describeViolations, formatPath, toInstance } from '../schema/instance.js';
import type { StrengthScorer } from '../schema/strength.js';
import type { UserSchema } from '../schema/user-schema.js';
import type { DateFacts } from './dates.js';
import { type Problem, problem } from './report.js';

export interface FileTarget {
  path: string;
  store: StoreName;
  content: Uint8Array;
  /** The policy says the file is secret (an environment or creation rule claims it). */
  claimed: boolean;
  environment?: string;
  /** Recipients the policy gives the file. */
  expected?: RecipientPlan;
  /** Names a recipient key for messages. */
  describeKey: (key: string) => string;
  schema?: UserSchema;
  /** Validates the sops block of YAML and JSON files (compiled once per run). */
  validateMetadata?: (instance: unknown) => string[];
}

export interface KeylessResult {
  /** Everything but expiry and rotation, which `dates` holds the facts for. */
  problems: Problem[];
  /** Set when the file is a readable SOPS file (the keyed checks need it). */
  metadata?: Metadata;
  /** The dated values present, when the file has a schema (judged at a time by judgeDates). */
  dates?: DateFacts;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function keysOf(plan: RecipientPlan): string[] {
  return plan.groups.flatMap((group) => [...group.age.map((key) => key.trim()), ...group.pgp.map((key) => key.replaceAll(' ', '').toUpperCase())]);
}

const BASE64 = '(?=[A-Za-z0-9+/])(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?';
/**
 * The ENC[...] strings SOPS writes, every field standard base64 and the tag 16 bytes: exactly what
 * parseEncryptedValue accepts, minus odd forms it also accepts (trailing text, fields containing
 * delimiters), which still go through it. Checking this way decodes nothing: 200 files have
 * thousands of values, and decoding each one's three fields cost more than the rest of the check.
 * test/verify/file-checks.test.ts checks it against parseEncryptedValue.
 */
const WELL_FORMED_ENCRYPTED_VALUE = new RegExp(`^ENC\\[AES256_GCM,data:${BASE64},iv:${BASE64},tag:[A-Za-z0-9+/]{22}==,type:(?:${VALUE_TYPES.join('|')})\\]$`);

/** True when parseEncryptedValue would accept the value (false: it may or may not; ask it). */
export function isWellFormedEncryptedValue(value: string): boolean {
  return WELL_FORMED_ENCRYPTED_VALUE.test(value);
}

/** The keys a plan names, per plan object (the files of one environment share their plan). */
const plannedKeys = new WeakMap<RecipientPlan, Set<string>>();

function expectedKeys(plan: RecipientPlan): Set<string> {
  let keys = plannedKeys.get(plan);
  if (!keys) {
    keys = new Set(keysOf(plan));
    plannedKeys.set(plan, keys);
  }
  return keys;
}

function codeOf(error: unknown): string {
  return isCofferError(error) ? error.code : 'error';
}

/** Without keys: everything the file shows in clear; the same bytes, policy and schema always give the same result. */
export function checkFileKeyless(target: FileTarget): KeylessResult {
  const problems: Problem[] = [];
  const { path } = target;
  let document: StoreDocument;
  try {
    document = getStore(target.store).parse(utf8.decode(target.content), path);
  } catch (error) {
    if (!isCofferError(error)) throw error;
    const line = typeof error.data['line'] === 'number' ? error.data['line'] : undefined;
    problems.push(problem('unreadable', path, `cannot be parsed as ${target.store} (${error.message.replace(/^.*?: /, '')})`, line ? { line } : {}));
    return { problems };
  }
  const rawMetadata = document.readMetadata();
  if (rawMetadata === undefined) {
    if (target.claimed) {
      problems.push(
        problem('not-encrypted', path, `is not encrypted, but ${target.environment ? `environment ${target.environment}` : 'the policy'} says it is secret`, {
          hint: `encrypt it before committing: coffer encrypt --in-place ${path}`,
        }),
      );
    }
    return { problems };
  }
  if (target.validateMetadata) {
    for (const message of target.validateMetadata({ sops: toInstance(rawMetadata, false) })) problems.push(problem('metadata-invalid', path, message, { keyPath: 'sops' }));
  }
  let metadata: Metadata;
  try {
    metadata = parseMetadata(rawMetadata, path);
  } catch (error) {
    if (!isCofferError(error)) throw error;
    problems.push(problem('metadata-invalid', path, error.message.replace(`${path}: `, ''), { keyPath: 'sops' }));
    return { problems };
  }

  // values: every one the rule covers must be a well-formed ENC[...]
  const isEncrypted = createLeafSelector(effectiveSelectionRule(metadata));
  document.mapLeaves((leaf) => {
    if (leaf.isComment || leaf.value === null || leaf.value === '' || !isEncrypted(leaf)) return undefined;
    if (typeof leaf.value === 'string' && isWellFormedEncryptedValue(leaf.value)) return undefined;
    const keyPath = formatPath(leaf.keyPath);
    if (typeof leaf.value !== 'string' || !leaf.value.startsWith('ENC[')) {
      problems.push(
        problem('value-not-encrypted', path, `${keyPath || 'a value'} is in clear, but the selection rule (${effectiveSelectionRule(metadata).kind}) says it must be encrypted`, {
          keyPath,
          hint: `re-encrypt the value: coffer set ${path} ${keyPath || 'KEY'}`,
        }),
      );
      return undefined;
    }
    try {
      parseEncryptedValue(leaf.value, `${path}: ${keyPath}`);
    } catch (error) {
      if (!isCofferError(error)) throw error;
      problems.push(problem('malformed-value', path, error.message.replace(`${path}: `, ''), { keyPath }));
    }
    return undefined;
  });

  if (target.expected) {
    const have = new Set(keysOf(recipientPlanOf(metadata)));
    const want = expectedKeys(target.expected);
    const extra = [...have].filter((key) => !want.has(key)).map(target.describeKey);
    const missing = [...want].filter((key) => !have.has(key)).map(target.describeKey);
    const where = target.environment ? `environment ${target.environment}` : 'its creation rule';
    if (extra.length > 0) {
      problems.push(problem('recipients', path, `readable by ${extra.join(', ')}, outside ${where}`, { hint: 'run `coffer updatekeys --all` (and rotate the data key: they could read it)' }));
    }
    if (missing.length > 0) {
      problems.push(problem('recipients', path, `not readable by ${missing.join(', ')}, although ${where} lists them`, { hint: 'run `coffer updatekeys --all`' }));
    }
  }

  if (target.schema) {
    const { schema } = target;
    for (const [index, plain] of document.toPlain().entries()) {
      const instance = toInstance(plain, true);
      if (schema.validateShape(instance)) continue;
      for (const violation of describeViolations(instance, schema.validateShape.errors ?? [])) {
        const keyPath = formatPath(violation.path);
        problems.push(
          problem('schema', path, `${keyPath || 'the document'}${index > 0 ? ` (document ${index + 1})` : ''} ${violation.message}`, {
            ...(keyPath ? { keyPath } : {}),
            hint: `schema ${schema.file} (${violation.schemaPath})`,
          }),
        );
      }
    }
    return { problems, metadata, dates: collectDates(schema, document, metadata) };
  }
  return { problems, metadata };
}

/** Per schema (compiled once per run, shared by its files): the annotated properties that carry dates. */
const datedProperties = new WeakMap<object, ReturnType<typeof listAnnotatedProperties>>();

function datedPropertiesOf(root: Record<string, unknown>): ReturnType<typeof listAnnotatedProperties> {
  let found = datedProperties.get(root);
  if (!found) {
    found = listAnnotatedProperties(root).filter(({ annotation }) => annotation.expires !== undefined || annotation.rotate !== undefined);
    datedProperties.set(root, found);
  }
  return found;
}

/** Which dated values the file has, and when it was last changed. */
function collectDates(schema: UserSchema, document: StoreDocument, metadata: Metadata): DateFacts {
  const values: DateFacts['values'] = [];
  for (const { path: keyPath, annotation } of datedPropertiesOf(schema.root)) {
    if (document.getValue(keyPath) === undefined) continue;
    values.push({ keyPath: formatPath(keyPath), ...(annotation.expires !== undefined ? { expires: annotation.expires } : {}), ...(annotation.rotate !== undefined ? { rotate: annotation.rotate } : {}) });
  }
  return { lastModified: metadata.lastModified, values };
}

/** A decrypted string value and where it is, for the reuse check. */
export interface SecretValue {
  keyPath: string;
  value: string;
}

export interface KeyedResult {
  problems: Problem[];
  /** Credential values (annotated with a kind, or under a key that names a secret). */
  secrets: SecretValue[];
  decrypted: boolean;
}

const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|api_?key|private_?key|credential/i;

/** With a key: MAC and values, schema on values, strength of passwords. */
export async function checkFileKeyed(target: FileTarget, keys: KeyRing, scorer: () => Promise<StrengthScorer>): Promise<KeyedResult> {
  const problems: Problem[] = [];
  const secrets: SecretValue[] = [];
  let plain: PlainValue[];
  try {
    // imported here: keyless runs never load decryption
    const { openFile } = await import('../file/secrets-file.js');
    const opened = await openFile({ file: target.path, store: target.store, content: target.content }, keys, { readOnly: true });
    plain = opened.plain.toPlain();
  } catch (error) {
    if (error instanceof CofferError && (error.code === 'NO_MATCHING_IDENTITY' || error.code === 'KEY_SOURCE_FAILED' || error.code === 'UNSUPPORTED_KEY_SOURCE')) {
      problems.push(problem('not-decrypted', target.path, 'not decrypted: no available identity unwraps its data key; keyless checks only'));
      return { problems, secrets, decrypted: false };
    }
    if (error instanceof CofferError && error.exitCode === 3) {
      problems.push(problem('integrity', target.path, `${error.message.replace(`${target.path}: `, '')} (${codeOf(error)})`, { hint: 'the file was changed outside coffer or damaged; restore it from git' }));
      return { problems, secrets, decrypted: false };
    }
    throw error;
  }
  const root = target.schema?.root;
  for (const [index, document] of plain.entries()) {
    const instance = toInstance(document, false);
    if (target.schema && !target.schema.validateValues(instance)) {
      for (const violation of describeViolations(instance, target.schema.validateValues.errors ?? [])) {
        // keyless already reported structure; here only what needed the values
        if (['required', 'additionalProperties', 'unevaluatedProperties', 'type', 'propertyNames'].includes(violation.keyword)) continue;
        const keyPath = formatPath(violation.path);
        problems.push(problem('schema', target.path, `${keyPath || 'the document'}${index > 0 ? ` (document ${index + 1})` : ''} ${violation.message}`, { keyPath, hint: `schema ${target.schema.file} (${violation.schemaPath})` }));
      }
    }
    const visit = async (value: unknown, segments: (string | number)[]) => {
      if (Array.isArray(value)) {
        for (const [position, item] of value.entries()) await visit(item, [...segments, position]);
      } else if (typeof value === 'object' && value !== null) {
        for (const [key, item] of Object.entries(value)) await visit(item, [...segments, key]);
      } else if (typeof value === 'string' && value.length > 0) {
        const annotation = root ? annotationAt(root, segments) : undefined;
        const keyPath = formatPath(segments);
        const lastKey = String([...segments].reverse().find((segment) => typeof segment === 'string') ?? '');
        if (annotation?.kind || SECRET_KEY.test(lastKey)) secrets.push({ keyPath, value });
        const required = requiredStrength(annotation);
        if (required !== undefined) {
          const score = (await scorer()).score(value, segments.filter((segment): segment is string => typeof segment === 'string'));
          if (score < required) {
            problems.push(problem('weak', target.path, `${keyPath} is a weak password (strength ${score} of 4, the schema asks for ${required})`, { keyPath, hint: `generate one: coffer set ${target.path} ${keyPath} --generate` }));
          }
        }
      }
    };
    await visit(instance, []);
  }
  return { problems, secrets, decrypted: true };
}
