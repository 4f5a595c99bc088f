// The JSON Schema of coffer.yaml. schemas/coffer.schema.json is this object written out for editors
// (yaml-language-server); a test keeps the two identical. It checks shape only: names that point
// nowhere, cycles, bad keys and globs are checked in coffer-config.ts with friendlier messages.

const name = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 64 } as const;
const nameList = { type: 'array', items: { $ref: '#/definitions/name' }, minItems: 1, uniqueItems: true } as const;
const keyList = {
  anyOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
  ],
} as const;
const selectionRule = (what: string) => ({ type: 'string', minLength: 1, description: `${what} (at most one selection rule per environment)` });

export const COFFER_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/coffer/coffer/schemas/coffer.schema.json',
  title: 'coffer.yaml',
  description: 'Who may read which secrets files: named recipients, groups of them, and environments that map file globs to readers.',
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  properties: {
    version: { const: 1, description: 'format version of coffer.yaml' },
    recipients: {
      type: 'object',
      description: 'people and machines, each with one or more age keys and/or PGP fingerprints',
      propertyNames: { $ref: '#/definitions/name' },
      additionalProperties: { $ref: '#/definitions/recipient' },
    },
    groups: {
      type: 'object',
      description: 'named lists of recipients and other groups (no cycles)',
      propertyNames: { $ref: '#/definitions/name' },
      additionalProperties: { $ref: '#/definitions/nameList' },
    },
    signing: {
      type: 'object',
      additionalProperties: false,
      required: ['required'],
      description: 'commit signing that `coffer audit --verify` checks',
      properties: {
        required: { type: 'boolean', description: 'every commit must be signed by a recipient\'s PGP key or one of keys' },
        keys: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'more allowed signing keys: PGP fingerprints or SSH public keys (type base64)' },
      },
    },
    environments: {
      type: 'object',
      description: 'file globs and who may read the files they match; a file belongs to at most one environment',
      propertyNames: { $ref: '#/definitions/name' },
      additionalProperties: { $ref: '#/definitions/environment' },
    },
  },
  definitions: {
    name,
    nameList,
    keyList,
    recipient: {
      type: 'object',
      additionalProperties: false,
      properties: {
        age: { $ref: '#/definitions/keyList', description: 'age public keys (age1...)' },
        pgp: { $ref: '#/definitions/keyList', description: 'PGP key fingerprints (40 hex digits)' },
        email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
        github: { type: 'string', pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$' },
        description: { type: 'string' },
      },
    },
    environment: {
      type: 'object',
      additionalProperties: false,
      properties: {
        description: { type: 'string' },
        files: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, description: 'globs relative to coffer.yaml: **, *, ?, {a,b}, [abc]' },
        path_regex: { type: 'string', minLength: 1, description: 'instead of files: a regular expression as in .sops.yaml (imported rules)' },
        readers: { $ref: '#/definitions/nameList', description: 'recipients and groups that may read the files' },
        key_groups: {
          type: 'array',
          items: { $ref: '#/definitions/nameList' },
          minItems: 2,
          description: 'instead of readers: Shamir key groups; decrypting needs keys from shamir_threshold of them',
        },
        shamir_threshold: { type: 'integer', minimum: 1, maximum: 255 },
        encrypted_regex: selectionRule('encrypt only values whose key matches'),
        unencrypted_regex: selectionRule('leave values whose key matches in clear'),
        encrypted_suffix: selectionRule('encrypt only values under keys with this suffix'),
        unencrypted_suffix: selectionRule('leave values under keys with this suffix in clear'),
        encrypted_comment_regex: selectionRule('encrypt only values after a matching comment'),
        unencrypted_comment_regex: selectionRule('leave values after a matching comment in clear'),
        mac_only_encrypted: { type: 'boolean' },
        schema: {
          description: 'JSON Schema (2020-12) of the decrypted files, relative to coffer.yaml: one path for every file, or a map from glob to path',
          anyOf: [
            { type: 'string', minLength: 1 },
            { type: 'object', minProperties: 1, additionalProperties: { type: 'string', minLength: 1 } },
          ],
        },
        owners: { $ref: '#/definitions/nameList', description: 'recipients and groups who review changes (their github: logins are requested on rotation pull requests)' },
        approvals: {
          type: 'object',
          additionalProperties: false,
          description: 'what `coffer audit --approvals` requires of every change to the files',
          properties: { required: { type: 'integer', minimum: 0, maximum: 20, description: 'approving reviews by people other than the author (default 1)' } },
        },
      },
    },
  },
} as const;
