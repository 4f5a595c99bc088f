// A real git smart-HTTP server for tests: Node's http server in front of `git http-backend` (CGI),
// serving bare repositories under a temp root on 127.0.0.1. Basic auth with one token; branches
// can be protected by a pre-receive hook that answers like GitHub (GH006).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface GitHttpServer {
  /** http://127.0.0.1:PORT */
  url: string;
  root: string;
  /** URL of a bare repository under the root (`acme/vault.git`). */
  repositoryUrl(name: string): string;
  /** Every request: method, path and the HTTP status sent. */
  requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent', GIT_TERMINAL_PROMPT: '0' };

/** Runs the git CLI synchronously (local repositories only: it blocks the in-process server). */
export function runGit(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com' }, ...(input !== undefined ? { input } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * The git CLI without blocking the event loop: needed for commands that talk to a server running
 * in the same process (clone, push, fetch).
 */
export function runGitAsync(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...GIT_ENV, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com' } }, (error, stdout, stderr) =>
      error ? reject(new Error(`git ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

/** A bare repository at root/name; `protect` lists branches a pre-receive hook refuses. */
export function createBareRepository(root: string, name: string, options: { protect?: string[]; defaultBranch?: string } = {}): string {
  const path = join(root, name);
  execFileSync('git', ['init', '--bare', '-q', `--initial-branch=${options.defaultBranch ?? 'main'}`, path], { env: { ...process.env, ...GIT_ENV } });
  execFileSync('git', ['config', 'http.receivepack', 'true'], { cwd: path, env: { ...process.env, ...GIT_ENV } });
  if (options.protect?.length) {
    const hook = join(path, 'hooks', 'pre-receive');
    const cases = options.protect.map((branch) => `refs/heads/${branch}`).join('|');
    writeFileSync(
      hook,
      `#!/bin/sh\nwhile read old new ref; do\n  case "$ref" in\n    ${cases}) echo "GH006: Protected branch update failed for $ref." >&2; exit 1;;\n  esac\ndone\nexit 0\n`,
    );
    chmodSync(hook, 0o755);
  }
  return path;
}

export async function startGitHttpServer(options: { root: string; token?: string }): Promise<GitHttpServer> {
  const backend = ['/usr/lib/git-core/git-http-backend', '/usr/libexec/git-core/git-http-backend'].find((path) => existsSync(path)) ?? 'git-http-backend';
  const requests: GitHttpServer['requests'] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const record = (status: number) => requests.push({ method: request.method ?? 'GET', path: url.pathname + url.search, status });
    if (options.token !== undefined) {
      const expected = `Basic ${Buffer.from(`x-access-token:${options.token}`).toString('base64')}`;
      if (request.headers.authorization !== expected) {
        record(401);
        response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('authentication required\n');
        return;
      }
    }
    const child = spawn(backend, [], {
      env: {
        ...GIT_ENV,
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: options.root,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: request.method ?? 'GET',
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        ...(request.headers['content-length'] ? { CONTENT_LENGTH: request.headers['content-length'] } : {}),
        ...(request.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: request.headers['content-encoding'] } : {}),
        ...(request.headers['git-protocol'] ? { GIT_PROTOCOL: String(request.headers['git-protocol']) } : {}),
      },
    });
    request.pipe(child.stdin);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.resume();
    child.on('close', () => {
      const output = Buffer.concat(chunks);
      const split = output.indexOf('\r\n\r\n');
      const headerEnd = split >= 0 ? split : output.indexOf('\n\n');
      const headerText = output.subarray(0, headerEnd).toString('utf8');
      const body = output.subarray(headerEnd + (split >= 0 ? 4 : 2));
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of headerText.split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      record(status);
      response.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    root: options.root,
    repositoryUrl: (name) => `${url}/${name}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
