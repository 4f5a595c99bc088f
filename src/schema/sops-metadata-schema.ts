// The JSON Schema of a SOPS file's `sops` block (sops-format.md section 7). Written out as
// schemas/sops-metadata.schema.json for editors; a test keeps the two identical. `coffer verify`
// checks the metadata of YAML and JSON files with it (dotenv and INI hold every value as text).

const text = { type: 'string', minLength: 1 } as const;
const rfc3339 = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$' } as const;
const entries = (required: readonly string[], properties: Record<string, unknown>) =>
  ({ type: ['array', 'null'], items: { type: 'object', required: [...required], properties } }) as const;

const keyLists = {
  age: { ...entries(['recipient', 'enc'], { recipient: text, enc: text }), description: 'the data key wrapped for each age recipient (an armored age file)' },
  pgp: { ...entries(['fp', 'enc'], { fp: text, enc: text, created_at: rfc3339 }), description: 'the data key encrypted for each PGP key' },
  kms: entries(['arn', 'enc'], { arn: text, enc: text, created_at: rfc3339 }),
  gcp_kms: entries(['resource_id', 'enc'], { resource_id: text, enc: text, created_at: rfc3339 }),
  hckms: entries(['key_id', 'enc'], { key_id: text, enc: text, created_at: rfc3339 }),
  azure_kv: entries(['vault_url', 'name', 'enc'], { vault_url: text, name: text, version: { type: 'string' }, enc: text, created_at: rfc3339 }),
  hc_vault: entries(['vault_address', 'enc'], { vault_address: text, engine_path: text, key_name: text, enc: text, created_at: rfc3339 }),
} as const;

const selectionRule = { type: 'string', minLength: 1 } as const;

export const SOPS_METADATA_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://github.com/coffer/coffer/schemas/sops-metadata.schema.json',
  title: 'SOPS encrypted file',
  description: 'A SOPS 3.x file: any keys with ENC[...] values, and the sops block that holds the wrapped data keys and the MAC.',
  type: 'object',
  required: ['sops'],
  properties: { sops: { $ref: '#/$defs/metadata' } },
  $defs: {
    metadata: {
      type: 'object',
      required: ['lastmodified', 'mac', 'version'],
      properties: {
        ...keyLists,
        key_groups: { type: ['array', 'null'], items: { type: 'object', properties: keyLists }, description: 'Shamir key groups (only with two or more groups)' },
        shamir_threshold: { type: 'integer', minimum: 0, maximum: 255 },
        lastmodified: { ...rfc3339, description: 'when the values were last encrypted; the MAC is bound to it' },
        mac: { type: 'string', pattern: '^(ENC\\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:str\\])?$', description: 'SHA-512 of the values, encrypted with the data key' },
        mac_only_encrypted: { type: 'boolean' },
        unencrypted_suffix: selectionRule,
        encrypted_suffix: selectionRule,
        unencrypted_regex: selectionRule,
        encrypted_regex: selectionRule,
        unencrypted_comment_regex: selectionRule,
        encrypted_comment_regex: selectionRule,
        version: { type: 'string', pattern: '^3\\.\\d+(\\.\\d+)?([-+][0-9A-Za-z.-]+)?$', description: 'the SOPS format version that wrote the file' },
      },
    },
  },
} as const;
