// GitHub's published OpenAPI description (@octokit/openapi, api.github.com.json) as a validator:
// the operation of a request by method and path template, its parameters and JSON body checked,
// and every response body checked against the schema of its status. OpenAPI 3.0 schemas become
// JSON Schema for ajv: `nullable` turns into a null type, `#/components/...` refs point at one
// shared document.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Json;
}

export interface Operation {
  method: string;
  template: string;
  operationId: string;
  parameters: Parameter[];
  requestBody?: Json;
  responses: Record<string, Json | undefined>;
}

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  operation: Operation;
}

const COMPONENTS_ID = 'https://github-double.test/components';

/** OpenAPI 3.0 schema -> JSON Schema (draft-07 as ajv reads it). */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== 'object' || node === null) return node;
  const source = node as Json;
  const out: Json = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'nullable' || key === 'example' || key === 'examples' || key === 'discriminator' || key === 'xml' || key === 'externalDocs') continue;
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/')) out[key] = `${COMPONENTS_ID}${value}`;
    else if (key === 'properties' && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([name, schema]) => [name, toJsonSchema(schema)]));
    } else out[key] = toJsonSchema(value);
  }
  if (source['nullable'] === true) {
    if (typeof out['type'] === 'string') {
      out['type'] = [out['type'], 'null'];
      if (Array.isArray(out['enum'])) out['enum'] = [...(out['enum'] as unknown[]), null];
    } else return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

export interface Violation {
  where: 'request' | 'response';
  operation: string;
  message: string;
}

export class GitHubSpec {
  readonly routes: Route[] = [];
  private readonly raw: Json;
  private readonly ajv: Ajv;
  private readonly coercing: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(raw: Json) {
    this.raw = raw;
    const components = toJsonSchema({ components: { schemas: (raw['components'] as Json)['schemas'] } }) as Json;
    const options = { strict: false, validateFormats: false, allErrors: true, allowUnionTypes: true } as const;
    this.ajv = new Ajv(options);
    this.ajv.addSchema({ $id: COMPONENTS_ID, ...components });
    this.coercing = new Ajv({ ...options, coerceTypes: true });
    for (const [template, item] of Object.entries(raw['paths'] as Record<string, Json>)) {
      const shared = (item['parameters'] as Json[] | undefined) ?? [];
      for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
        const op = item[method] as Json | undefined;
        if (!op) continue;
        const names = [...template.matchAll(/\{([^}]+)\}/g)].map((found) => found[1]!);
        const pattern = new RegExp(`^${template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('([^/]+)')}$`);
        const parameters = [...shared, ...((op['parameters'] as Json[] | undefined) ?? [])].map((p) => this.resolve(p) as unknown as Parameter);
        const body = op['requestBody'] ? (this.resolve(op['requestBody'] as Json)['content'] as Json | undefined)?.['application/json'] : undefined;
        const responses: Record<string, Json | undefined> = {};
        for (const [status, response] of Object.entries(op['responses'] as Json)) {
          const resolved = this.resolve(response as Json);
          responses[status] = ((resolved['content'] as Json | undefined)?.['application/json'] as Json | undefined)?.['schema'] as Json | undefined;
        }
        this.routes.push({
          method: method.toUpperCase(),
          pattern,
          names,
          operation: {
            method: method.toUpperCase(),
            template,
            operationId: String(op['operationId']),
            parameters,
            ...(body ? { requestBody: (body as Json)['schema'] as Json } : {}),
            responses,
          },
        });
      }
    }
    // literal segments beat parameters: /repos/{owner}/{repo}/pulls before /repos/{owner}/{repo}/{x}
    this.routes.sort((a, b) => b.operation.template.replace(/\{[^}]+\}/g, '').length - a.operation.template.replace(/\{[^}]+\}/g, '').length);
  }

  private resolve(node: Json): Json {
    let current = node;
    while (typeof current['$ref'] === 'string') {
      const path = (current['$ref'] as string).replace(/^#\//, '').split('/');
      current = path.reduce<Json>((at, key) => at[key] as Json, this.raw);
    }
    return current;
  }

  /** An example value from components/examples (a realistic object the double fills in). */
  example(name: string): Json {
    const examples = (this.raw['components'] as Json)['examples'] as Record<string, { value: Json }>;
    const found = examples[name];
    if (!found) throw new Error(`no example ${name} in the OpenAPI description`);
    return structuredClone(found.value);
  }

  match(method: string, path: string): { operation: Operation; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(found[index + 1]!);
      });
      return { operation: route.operation, params };
    }
    return undefined;
  }

  private validator(key: string, schema: unknown, coerce = false): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = (coerce ? this.coercing : this.ajv).compile(toJsonSchema(schema) as Json);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** Problems with a request; empty when it is one GitHub accepts the shape of. */
  checkRequest(operation: Operation, params: Record<string, string>, query: URLSearchParams, body: unknown): string[] {
    const problems: string[] = [];
    const known = new Set(operation.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of query.keys()) if (!known.has(name)) problems.push(`unknown query parameter ${name}`);
    for (const parameter of operation.parameters) {
      if (parameter.in === 'header') continue;
      const value = parameter.in === 'path' ? params[parameter.name] : (query.get(parameter.name) ?? undefined);
      if (value === undefined) {
        if (parameter.required) problems.push(`missing ${parameter.in} parameter ${parameter.name}`);
        continue;
      }
      if (!parameter.schema) continue;
      // wrapped in an object so ajv can coerce the string to the parameter's type
      const validate = this.validator(`${operation.operationId}:param:${parameter.name}`, { type: 'object', properties: { value: parameter.schema } }, true);
      if (!validate({ value })) problems.push(`${parameter.in} parameter ${parameter.name}: ${this.coercing.errorsText(validate.errors)}`);
    }
    if (operation.requestBody) {
      const validate = this.validator(`${operation.operationId}:body`, operation.requestBody);
      if (!validate(body)) problems.push(`body: ${this.ajv.errorsText(validate.errors, { dataVar: 'body' })}`);
    } else if (body !== undefined) problems.push('the operation takes no body');
    return problems;
  }

  /**
   * Problems with a response. A status the operation does not declare is accepted only for errors
   * GitHub may send to any request (401, 403, 404, 429, 5xx), as a basic-error.
   */
  checkResponse(operation: Operation, status: number, body: unknown): string[] {
    const declared = operation.responses[String(status)];
    const isDeclared = String(status) in operation.responses;
    let schema: unknown = declared;
    if (!isDeclared) {
      if (![401, 403, 404, 429].includes(status) && status < 500) return [`status ${status} is not a response of ${operation.operationId}`];
      schema = { $ref: '#/components/schemas/basic-error' };
    }
    if (schema === undefined) return [];
    const validate = this.validator(`${operation.operationId}:response:${isDeclared ? status : 'error'}`, schema);
    return validate(body) ? [] : [`response ${status}: ${this.ajv.errorsText(validate.errors, { dataVar: 'response' })}`];
  }
}

let loaded: GitHubSpec | undefined;

/** The description of api.github.com, parsed once per test process. */
export function loadGitHubSpec(): GitHubSpec {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const path = require.resolve('@octokit/openapi/generated/api.github.com.json');
    loaded = new GitHubSpec(JSON.parse(readFileSync(path, 'utf8')) as Json);
  }
  return loaded;
}
