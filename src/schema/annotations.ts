// The `x-coffer` annotation of a user schema: what kind of credential a value is, how to generate
// it, when it must be rotated or expires, who owns it and how strong a password must be.

/** Credential kinds; all but `opaque` can be generated. */
export const CREDENTIAL_KINDS = [
  'password',
  'api-token',
  'hex',
  'base64',
  'uuid',
  'ed25519-key-pair',
  'rsa-key-pair',
  'tls-private-key',
  'db-url',
  'opaque',
] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export interface GenerateParameters {
  /** Characters (password, api-token). */
  length?: number;
  /** Random bytes before encoding (hex, base64). */
  bytes?: number;
  /** Key size (rsa-key-pair). */
  bits?: number;
  /** Password character classes; each one enabled must appear at least once. */
  lower?: boolean;
  upper?: boolean;
  digits?: boolean;
  symbols?: boolean;
  /** Instead of the classes: the exact characters to draw from. */
  alphabet?: string;
  /** Text put in front of an api-token (`sk_live_`). */
  prefix?: string;
  /** base64: the URL-safe alphabet without padding. */
  urlSafe?: boolean;
  /** tls-private-key: the curve (P-256 or P-384). */
  curve?: string;
  /** db-url: the URL with `{password}` where the generated password goes. */
  template?: string;
}

export interface CofferAnnotation {
  kind?: CredentialKind;
  generate?: GenerateParameters;
  /** How long a value may live, e.g. `90d`, `12w`, `6m`, `1y`. */
  rotate?: string;
  /** A date (`2026-12-31`) or RFC 3339 time after which the value is no longer valid. */
  expires?: string;
  owner?: string;
  /** The lowest acceptable zxcvbn score, 0 to 4 (passwords default to 3). */
  minStrength?: number;
}

export const ANNOTATION_KEYWORD = 'x-coffer';

const DURATION = '^[1-9][0-9]{0,4}[dwmy]$';
const DATE = '^\\d{4}-\\d{2}-\\d{2}(?:[Tt]\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:[Zz]|[+-]\\d{2}:\\d{2}))?$';

/** The meta-schema ajv checks every `x-coffer` object against when it compiles a user schema. */
export const ANNOTATION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { enum: [...CREDENTIAL_KINDS] },
    generate: {
      type: 'object',
      additionalProperties: false,
      properties: {
        length: { type: 'integer' },
        bytes: { type: 'integer' },
        bits: { type: 'integer' },
        lower: { type: 'boolean' },
        upper: { type: 'boolean' },
        digits: { type: 'boolean' },
        symbols: { type: 'boolean' },
        alphabet: { type: 'string' },
        prefix: { type: 'string', maxLength: 64 },
        urlSafe: { type: 'boolean' },
        curve: { type: 'string' },
        template: { type: 'string' },
      },
    },
    rotate: { type: 'string', pattern: DURATION },
    expires: { type: 'string', pattern: DATE },
    owner: { type: 'string', minLength: 1 },
    minStrength: { type: 'integer', minimum: 0, maximum: 4 },
  },
} as const;

const DAY = 24 * 60 * 60 * 1000;
const UNIT_DAYS: Record<string, number> = { d: 1, w: 7, m: 30, y: 365 };

/** Milliseconds of a `rotate` duration (a month is 30 days, a year 365). */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,4})([dwmy])$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_DAYS[match[2]!]! * DAY;
}

/** The instant an `expires` value stands for; a bare date means the end of that day (UTC). */
export function parseExpiry(text: string): Date | undefined {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T23:59:59Z`) : new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The annotation of a subschema, when it has one. */
export function annotationOf(schema: unknown): CofferAnnotation | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const value = (schema as Record<string, unknown>)[ANNOTATION_KEYWORD];
  return typeof value === 'object' && value !== null ? (value as CofferAnnotation) : undefined;
}

/** The score a value must reach: `minStrength`, else 3 for passwords, else no check. */
export function requiredStrength(annotation: CofferAnnotation | undefined): number | undefined {
  return annotation?.minStrength ?? (annotation?.kind === 'password' ? 3 : undefined);
}
