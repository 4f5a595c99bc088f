// The GitHub double's checks can fail: a request or response that does not match GitHub's OpenAPI
// description is recorded as a violation (so the tests that assert none are meaningful).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadGitHubSpec } from '../helpers/github-double/openapi.js';
import { type GitHubDouble, startGitHubDouble } from '../helpers/github-double/server.js';

let double: GitHubDouble;

beforeEach(async () => {
  double = await startGitHubDouble({ owner: 'acme', repo: 'vault', token: 't', branchCommit: () => 'a'.repeat(40) });
});

afterEach(async () => {
  await double.stop();
});

const call = (method: string, path: string, body?: unknown) =>
  fetch(`${double.url}${path}`, { method, headers: { authorization: 'token t', 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

describe('GitHub double', () => {
  it('rejects requests that do not match the description', async () => {
    expect((await call('POST', '/repos/acme/vault/pulls', { head: 5, title: 't' })).status).toBe(400);
    expect((await call('GET', '/repos/acme/vault/pulls?state=merged')).status).toBe(400);
    expect((await call('GET', '/repos/acme/vault/pulls?colour=red')).status).toBe(400);
    expect((await call('GET', '/repos/acme/vault/pulls/x/reviews')).status).toBe(400);
    expect((await call('GET', '/no/such/endpoint/at/all')).status).toBe(404);
    expect(double.violations.map((violation) => violation.message)).toEqual([
      "body: body must have required property 'base', body/head must be string",
      'query parameter state: data/value must be equal to one of the allowed values',
      'unknown query parameter colour',
      'path parameter pull_number: data/value must be integer',
      'no operation of the GitHub API has this method and path',
    ]);
  });

  it('answers valid requests with responses that validate, and catches broken ones', async () => {
    const response = await call('POST', '/repos/acme/vault/pulls', { head: 'feature', base: 'main', title: 't' });
    expect(response.status).toBe(422); // head and base point at the same commit
    expect(double.violations).toEqual([]);
    const spec = loadGitHubSpec();
    const list = spec.match('GET', '/repos/acme/vault/pulls')!.operation;
    expect(spec.checkResponse(list, 200, [{ number: 'one' }])[0]).toMatch(/^response 200: response\/0 must have required property/);
    expect(spec.checkResponse(list, 418, {})).toEqual(['status 418 is not a response of pulls/list']);
  });
});
