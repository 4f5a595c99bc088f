// Walking a JSON Schema by its subschemas (never into `enum`, `const`, `default` or annotations):
// the keyless copy that drops what only values can satisfy, and the subschema at a key path.
import { ANNOTATION_KEYWORD, annotationOf, type CofferAnnotation } from './annotations.js';

type SchemaObject = Record<string, unknown>;

/** Keywords whose value is a map of subschemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is one subschema. */
const SCHEMA_ONE = new Set(['additionalProperties', 'unevaluatedProperties', 'items', 'additionalItems', 'unevaluatedItems', 'contains', 'propertyNames', 'not', 'if', 'then', 'else']);
/** Keywords whose value is a list of subschemas. */
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);

/**
 * Checks that need the plaintext of a value. Without keys they are dropped (the ENC[...] string
 * carries only its type); `if`/`not` go too, since a condition on a value cannot be decided.
 */
const VALUE_KEYWORDS = new Set([
  'pattern',
  'format',
  'minLength',
  'maxLength',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'contentEncoding',
  'contentMediaType',
  'contentSchema',
  'not',
  'if',
  'then',
  'else',
]);

const isObject = (value: unknown): value is SchemaObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Calls `visit` for every subschema with its JSON pointer segments (the root first). */
export function visitSubschemas(schema: unknown, visit: (subschema: SchemaObject, pointer: readonly string[]) => void, pointer: string[] = []): void {
  if (!isObject(schema)) return;
  visit(schema, pointer);
  for (const [keyword, value] of Object.entries(schema)) {
    if (SCHEMA_MAPS.has(keyword) && isObject(value)) {
      for (const [name, subschema] of Object.entries(value)) visitSubschemas(subschema, visit, [...pointer, keyword, name]);
    } else if (SCHEMA_ONE.has(keyword)) {
      visitSubschemas(value, visit, [...pointer, keyword]);
    } else if (SCHEMA_LISTS.has(keyword) && Array.isArray(value)) {
      for (const [index, subschema] of value.entries()) visitSubschemas(subschema, visit, [...pointer, keyword, String(index)]);
    }
  }
}

/**
 * The schema of what is visible without keys: key names, nesting, required and unknown keys, and
 * each value's type. Value checks are dropped and `oneOf` becomes `anyOf` (without the values
 * several branches may fit). Key names stay fully checked (`propertyNames` is kept as it is).
 */
export function toKeylessSchema(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  const copy: SchemaObject = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (VALUE_KEYWORDS.has(keyword)) continue;
    if (keyword === 'propertyNames') copy[keyword] = value;
    else if (SCHEMA_MAPS.has(keyword) && isObject(value)) copy[keyword] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toKeylessSchema(sub)]));
    else if (SCHEMA_ONE.has(keyword)) copy[keyword] = toKeylessSchema(value);
    else if (SCHEMA_LISTS.has(keyword) && Array.isArray(value)) copy[keyword === 'oneOf' ? 'anyOf' : keyword] = value.map(toKeylessSchema);
    else copy[keyword] = value;
  }
  return copy;
}

/** The target of a local `$ref` (`#/$defs/x`); undefined for anything else. */
function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isObject(node)) return undefined;
    node = node[segment];
  }
  return node;
}

/** The subschemas that apply at one level: the schema, its local `$ref` and its `allOf` parts. */
function expand(root: unknown, schema: unknown, depth = 0): SchemaObject[] {
  if (!isObject(schema) || depth > 32) return [];
  const parts = [schema];
  if (typeof schema['$ref'] === 'string') parts.push(...expand(root, resolveRef(root, schema['$ref']), depth + 1));
  if (Array.isArray(schema['allOf'])) for (const part of schema['allOf']) parts.push(...expand(root, part, depth + 1));
  return parts;
}

function childSchemas(root: unknown, parts: SchemaObject[], segment: string | number): SchemaObject[] {
  const found: SchemaObject[] = [];
  for (const part of parts) {
    if (typeof segment === 'number') {
      if (isObject(part['items'])) found.push(...expand(root, part['items']));
      continue;
    }
    const properties = part['properties'];
    if (isObject(properties) && Object.hasOwn(properties, segment)) {
      found.push(...expand(root, properties[segment]));
      continue;
    }
    const patterns = part['patternProperties'];
    let matched = false;
    if (isObject(patterns)) {
      for (const [pattern, sub] of Object.entries(patterns)) {
        try {
          if (new RegExp(pattern, 'u').test(segment)) {
            found.push(...expand(root, sub));
            matched = true;
          }
        } catch {
          // an invalid pattern is reported when the schema is compiled
        }
      }
    }
    if (!matched && isObject(part['additionalProperties'])) found.push(...expand(root, part['additionalProperties']));
  }
  return found;
}

/** The annotation that applies at a key path (map keys and list indexes), merged over `$ref`/`allOf`. */
export function annotationAt(root: unknown, path: readonly (string | number)[]): CofferAnnotation | undefined {
  let parts = expand(root, root);
  for (const segment of path) {
    parts = childSchemas(root, parts, segment);
    if (parts.length === 0) return undefined;
  }
  const annotations = parts.map(annotationOf).filter((annotation): annotation is CofferAnnotation => annotation !== undefined);
  if (annotations.length === 0) return undefined;
  return Object.assign({}, ...[...annotations].reverse());
}

export interface AnnotatedProperty {
  /** Map keys from the root (only through `properties`, so every path is concrete). */
  path: string[];
  annotation: CofferAnnotation;
}

/** Every concrete key path (through `properties`, `$ref` and `allOf`) that carries an annotation. */
export function listAnnotatedProperties(root: unknown): AnnotatedProperty[] {
  const found: AnnotatedProperty[] = [];
  const walk = (parts: SchemaObject[], path: string[], depth: number) => {
    if (depth > 32) return;
    const merged = parts.map((part) => part[ANNOTATION_KEYWORD]).filter(isObject);
    if (merged.length > 0 && path.length > 0) found.push({ path, annotation: Object.assign({}, ...[...merged].reverse()) as CofferAnnotation });
    const names = new Set(parts.flatMap((part) => (isObject(part['properties']) ? Object.keys(part['properties']) : [])));
    for (const name of names) walk(childSchemas(root, parts, name), [...path, name], depth + 1);
  };
  walk(expand(root, root), [], 0);
  return found;
}
