// Writes the validators of coffer's own fixed schemas as ajv standalone code (src/**/*-validator.ts)
// and src/schema/ajv-version.ts,
// so no run pays for compiling them (ajv's compile of coffer.yaml's schema alone took ~50 ms per run).
// `node scripts/generate-validators.mjs` rewrites them; `--check` exits 1 when one is stale
// (test/policy/validators.test.ts runs it). The schemas are TypeScript: esbuild loads them here.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Each validator: the module exporting its schema, the options it was compiled with at run time before. */
const VALIDATORS = [
  {
    output: 'src/policy/coffer-validator.ts',
    source: 'src/policy/coffer-schema.ts',
    schema: 'COFFER_SCHEMA',
    name: 'validateCofferShape',
    what: "coffer.yaml's shape (JSON Schema draft-07)",
    compiler: () => new Ajv({ allErrors: false, strict: true, validateSchema: false, code: { source: true, esm: true } }),
  },
  {
    output: 'src/schema/sops-metadata-validator.ts',
    source: 'src/schema/sops-metadata-schema.ts',
    schema: 'SOPS_METADATA_SCHEMA',
    name: 'validateSopsMetadata',
    what: 'the sops block of a YAML or JSON file (JSON Schema 2020-12)',
    // unicode: false measures strings with .length instead of walking them for surrogate pairs (the
    // armored data keys are long, and that walk was a visible part of verify); the same verdicts
    // and messages only while every length limit is minLength: 1, which onlyMinLengthOne checks
    compiler: () => new Ajv2020({ allErrors: true, strict: false, logger: false, validateSchema: false, unicode: false, inlineRefs: false, code: { source: true, esm: true } }),
    check: onlyMinLengthOne,
    prepare: shareKeyLists,
  },
  {
    output: 'src/schema/annotation-validator.ts',
    source: 'src/schema/annotations.ts',
    schema: 'ANNOTATION_SCHEMA',
    name: 'validateAnnotation',
    what: 'an x-coffer annotation in a user schema (JSON Schema 2020-12)',
    compiler: () => new Ajv2020({ allErrors: false, strict: true, logger: false, validateSchema: false, code: { source: true, esm: true } }),
  },
];

/**
 * The key lists (age, pgp, kms...) appear twice in the metadata schema, at the top and in each key
 * group: as $refs to one definition each, with inlineRefs off, their code is generated once (the
 * validator is a third smaller). Same verdicts and messages; only the errors' schemaPath differs,
 * which `coffer verify` does not use.
 */
function shareKeyLists(schema) {
  const shared = structuredClone(schema);
  const { properties } = shared.$defs.metadata;
  const groupProperties = properties.key_groups.items.properties;
  for (const name of Object.keys(groupProperties)) {
    if (JSON.stringify(groupProperties[name]) !== JSON.stringify(properties[name])) throw new Error(`key_groups.${name} differs from ${name}: cannot share its definition`);
    shared.$defs[`keys_${name}`] = properties[name];
    properties[name] = { $ref: `#/$defs/keys_${name}` };
    groupProperties[name] = { $ref: `#/$defs/keys_${name}` };
  }
  return shared;
}

/** Throws unless the only string length limit in the schema is minLength: 1 (see unicode: false above). */
function onlyMinLengthOne(schema, pointer = '') {
  if (typeof schema !== 'object' || schema === null) return;
  for (const [key, value] of Object.entries(schema)) {
    if ((key === 'minLength' && value !== 1) || key === 'maxLength') throw new Error(`${pointer}/${key}: with unicode: false only minLength: 1 keeps ajv's verdicts`);
    onlyMinLengthOne(value, `${pointer}/${key}`);
  }
}

async function loadExport(source, name) {
  const result = await build({ entryPoints: [join(root, source)], bundle: true, write: false, format: 'esm', platform: 'node', logLevel: 'silent' });
  const url = `data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString('base64')}`;
  return (await import(url))[name];
}

/** ajv's code `require`s its runtime helpers; the TypeScript module imports them instead. */
function toModule(code, validator) {
  const imports = [];
  const body = code
    .replace(/^"use strict";/, '')
    .replace(/export const validate = (\w+);export default \w+;/, (_all, fn) => `export const ${validator.name}: ValidateFunction = ${fn} as unknown as ValidateFunction;`)
    .replace(/const (\w+) = require\("(ajv\/dist\/runtime\/[\w-]+)"\)\.default;/g, (_all, local, path) => {
      imports.push(`import ${local}Module from '${path}.js';`);
      // Node's default import of a CommonJS module is module.exports; vitest's interop unwraps `.default`
      return `const ${local} = ${local}Module.default ?? ${local}Module;`;
    });
  if (/require\(/.test(body)) throw new Error(`${validator.output}: unexpected require() in ajv's code`);
  return [
    `// Generated by scripts/generate-validators.mjs from ${validator.schema} (${validator.source}); do not edit.`,
    `// ajv standalone code validating ${validator.what}: compiled at build time, not on every run.`,
    '// @ts-nocheck',
    '// biome-ignore-all lint: generated code',
    "import type { ValidateFunction } from 'ajv';",
    ...imports,
    body,
    '',
  ].join('\n');
}

export async function generateValidators() {
  const files = new Map();
  // compiled user schemas cached on disk are keyed by the ajv version that generated their code
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules/ajv/package.json'), 'utf8'));
  files.set('src/schema/ajv-version.ts', `// Generated by scripts/generate-validators.mjs from node_modules/ajv/package.json; do not edit.\nexport const AJV_VERSION = '${version}';\n`);
  for (const validator of VALIDATORS) {
    const schema = await loadExport(validator.source, validator.schema);
    validator.check?.(schema);
    const ajv = validator.compiler();
    files.set(validator.output, toModule(standaloneCode(ajv, ajv.compile(validator.prepare?.(schema) ?? schema)), validator));
  }
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [path, text] of await generateValidators()) {
    const file = join(root, path);
    let current;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${path} is stale: run \`node scripts/generate-validators.mjs\`\n`);
      stale++;
    } else {
      writeFileSync(file, text);
      process.stderr.write(`wrote ${path}\n`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
