// A user's schema file (JSON Schema 2020-12, as JSON or YAML): parsed, checked against the
// meta-schema, then compiled twice with ajv: the full schema for decrypted values and the keyless
// copy for what is visible without keys. Compiled once per content (in memory only).
import { createHash } from 'node:crypto';
import { _ } from 'ajv';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { LineCounter, type Node, parseDocument } from 'yaml';
import { CofferError } from '../errors.js';
import { ANNOTATION_KEYWORD } from './annotations.js';
import { validateAnnotation } from './annotation-validator.js';
import { FORMATS } from './formats.js';
import { toKeylessSchema, visitSubschemas } from './walk.js';

export interface UserSchema {
  /** The schema file, for messages. */
  file: string;
  root: Record<string, unknown>;
  /** Validates decrypted data. */
  validateValues: ValidateFunction;
  /** Validates the keyless instance (encrypted values replaced by a value of their type). */
  validateShape: ValidateFunction;
}

const SCHEMA_HINTS = ['schemas are JSON Schema 2020-12 (https://json-schema.org/draft/2020-12/schema); x-coffer takes kind, generate, rotate, expires, owner, minStrength'];

function schemaError(file: string, message: string, pointer?: string, line?: number): CofferError {
  const where = `${file}${line ? `:${line}` : ''}`;
  return new CofferError('CONFIG_INVALID', `${where}: invalid schema${pointer !== undefined ? ` at ${pointer || '/'}` : ''}: ${message}`, {
    hints: SCHEMA_HINTS,
    data: { file, ...(pointer !== undefined ? { pointer } : {}), ...(line ? { line } : {}) },
  });
}

const toPointer = (segments: readonly string[]) => segments.map((segment) => `/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
const fromPointer = (pointer: string) => (pointer === '' ? [] : pointer.slice(1).split('/').map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~')));

let metaValidator: Ajv2020 | undefined;

/** The compiler that made each validator, for its standalone code (validatorCode). */
const compilers = new WeakMap<ValidateFunction, Ajv2020>();

function newCompiler(): Ajv2020 {
  // code.source keeps the generated code for validatorCode; code.formats names FORMATS in it
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    validateSchema: false,
    logger: false,
    formats: FORMATS,
    code: { source: true, formats: _`require("coffer:formats")` },
  });
  ajv.addKeyword({ keyword: ANNOTATION_KEYWORD, schemaType: 'object' });
  return ajv;
}

/** A compiled validator as CommonJS source (ajv standalone): `require`s ajv's runtime helpers and "coffer:formats". */
export function validatorCode(validate: ValidateFunction): string | undefined {
  const ajv = compilers.get(validate);
  return ajv ? standaloneCode.default(ajv, validate) : undefined;
}

const cache = new Map<string, Omit<UserSchema, 'file'>>();

/** Parses and compiles a schema file's text; every problem is CONFIG_INVALID naming the file, line and JSON pointer. */
export function compileUserSchema(text: string, file: string): UserSchema {
  const digest = createHash('sha256').update(text).digest('hex');
  const cached = cache.get(digest);
  if (cached) return Object.assign(Object.create(cached) as Omit<UserSchema, 'file'>, { file });

  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const firstError = document.errors[0];
  if (firstError) throw schemaError(file, `not valid JSON or YAML (${firstError.code.toLowerCase().replaceAll('_', ' ')})`, undefined, lineCounter.linePos(firstError.pos[0]).line);
  const lineAt = (segments: readonly string[]): number | undefined => {
    for (let length = segments.length; length >= 0; length--) {
      const node = document.getIn(segments.slice(0, length), true) as Node | undefined;
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const root: unknown = document.toJS({ maxAliasCount: 100 });
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw schemaError(file, 'the schema must be an object', '', 1);
  const declared = (root as Record<string, unknown>)['$schema'];
  if (declared !== undefined && declared !== 'https://json-schema.org/draft/2020-12/schema') {
    throw schemaError(file, `$schema must be https://json-schema.org/draft/2020-12/schema (or left out)`, '/$schema', lineAt(['$schema']));
  }

  // Checking against the 2020-12 meta-schema costs ~60 ms (compiling it), so it runs only when
  // ajv's strict compile below fails, to name the JSON pointer of the mistake.
  const checkMeta = () => {
    metaValidator ??= new Ajv2020({ allErrors: false, strict: false, logger: false });
    if (metaValidator.validateSchema(root)) return;
    const [error] = (metaValidator.errors ?? []) as ErrorObject[];
    const pointer = error?.instancePath ?? '';
    throw schemaError(file, error?.message ?? 'not a valid JSON Schema', pointer, lineAt(fromPointer(pointer)));
  };
  visitSubschemas(root, (subschema, pointer) => {
    if (subschema[ANNOTATION_KEYWORD] === undefined) return;
    if (validateAnnotation(subschema[ANNOTATION_KEYWORD])) return;
    const [error] = validateAnnotation.errors ?? [];
    const at = [...pointer, ANNOTATION_KEYWORD, ...fromPointer(error?.instancePath ?? '')];
    const detail = error?.keyword === 'additionalProperties' ? `unknown field "${String(error.params['additionalProperty']).slice(0, 40)}"` : (error?.message ?? 'is not valid');
    throw schemaError(file, `${ANNOTATION_KEYWORD} ${detail}`, toPointer(at), lineAt(at));
  });

  const compile = (schema: unknown): ValidateFunction => {
    try {
      const ajv = newCompiler();
      const validate = ajv.compile(schema as Record<string, unknown>);
      compilers.set(validate, ajv);
      return validate;
    } catch (error) {
      checkMeta();
      // ajv's strict-mode messages name the keyword, not where it is: point at its first use
      const message = (error as Error).message.replace(/^strict mode: /, '');
      const name = /"([^"]{1,80})"/.exec(message)?.[1];
      let at: readonly string[] | undefined;
      if (name !== undefined) visitSubschemas(root, (subschema, pointer) => {
        if (at === undefined && Object.hasOwn(subschema, name)) at = [...pointer, name];
      });
      throw schemaError(file, message.slice(0, 200), at ? toPointer(at) : undefined, at ? lineAt(at) : undefined);
    }
  };
  const validateShape = compile(toKeylessSchema(root));
  let validateValues: ValidateFunction | undefined;
  // the full schema is compiled only when a key decrypts a file (keyless runs never need it)
  const compiled = {
    root: root as Record<string, unknown>,
    validateShape,
    get validateValues() {
      validateValues ??= compile(root);
      return validateValues;
    },
  };
  cache.set(digest, compiled);
  return Object.assign(Object.create(compiled) as Omit<UserSchema, 'file'>, { file });
}
