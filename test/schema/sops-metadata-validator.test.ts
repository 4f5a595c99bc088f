import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SOPS_METADATA_SCHEMA } from '../../src/schema/sops-metadata-schema.js';
import { validateSopsMetadata } from '../../src/schema/sops-metadata-validator.js';

const reference = new Ajv2020({ allErrors: true, strict: false, logger: false }).compile(SOPS_METADATA_SCHEMA);

const verdict = (validate: typeof reference, instance: unknown) => [validate(instance), (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`)];

describe('the generated sops metadata validator (built with unicode: false)', () => {
  it('judges like ajv compiling SOPS_METADATA_SCHEMA with its defaults', () => {
    const text = fc.oneof(fc.constant(''), fc.constant('\u{1F511}'), fc.constant('a\uD800'), fc.string({ maxLength: 4 }), fc.constant('2024-01-02T03:04:05Z'), fc.constant('3.9.0'));
    const entry = fc.dictionary(fc.constantFrom('recipient', 'enc', 'fp', 'created_at', 'arn', 'vault_url', 'name'), fc.oneof(text, fc.integer()), { maxKeys: 3 });
    const metadata = fc.record(
      {
        age: fc.oneof(fc.constant(null), fc.array(entry, { maxLength: 2 })),
        pgp: fc.array(entry, { maxLength: 2 }),
        key_groups: fc.array(fc.record({ age: fc.array(entry, { maxLength: 2 }), hc_vault: fc.array(entry, { maxLength: 1 }) }, { requiredKeys: [] }), { maxLength: 2 }),
        lastmodified: text,
        mac: text,
        version: text,
        unencrypted_suffix: text,
        shamir_threshold: fc.oneof(fc.integer({ min: -2, max: 300 }), text),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(metadata, (sops) => {
        expect(verdict(validateSopsMetadata as typeof reference, { sops })).toEqual(verdict(reference, { sops }));
      }),
      { numRuns: 2000 },
    );
  });
});
