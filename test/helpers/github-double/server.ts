// A small stateful GitHub (repository, pull requests, reviews, labels, requested reviewers,
// commits->pulls) on a loopback HTTP server. Every request is matched to its operation in GitHub's
// OpenAPI description and validated; every response body is validated before it is sent. Any
// mismatch is recorded in `violations` (tests assert it stays empty) and a bad request gets a 400.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type GitHubSpec, loadGitHubSpec, type Operation, type Violation } from './openapi.js';

type Json = Record<string, unknown>;

export interface DoublePull {
  number: number;
  title: string;
  body: string | null;
  head: string;
  headSha: string;
  base: string;
  author: string;
  state: 'open' | 'closed';
  mergedAt: string | null;
  labels: string[];
  requestedReviewers: string[];
  requestedTeams: string[];
  /** Commits that arrived through this pull request (for commits->pulls). */
  commits: string[];
  createdAt: string;
}

export interface DoubleReview {
  pull: number;
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
  commit: string;
  submittedAt: string;
}

export interface InjectedFailure {
  method: string;
  /** The operation's path template, e.g. /repos/{owner}/{repo}/pulls. */
  template: string;
  status: number;
  message?: string;
  headers?: Record<string, string>;
  /** How many requests fail before it passes (default 1). */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  operationId: string;
  status: number;
}

export interface GitHubDoubleOptions {
  owner: string;
  repo: string;
  defaultBranch?: string;
  /** The only token accepted (as `token X` or `Bearer X`). */
  token: string;
  /** The login the token belongs to (the author of pull requests it opens). */
  login?: string;
  /** The commit a branch points to (the git server behind the double), or undefined. */
  branchCommit?: (branch: string) => string | undefined;
  /** Items per page when the client asks for none (GitHub: 30). */
  defaultPageSize?: number;
  /** Served under this path, as GitHub Enterprise Server serves `/api/v3`. */
  pathPrefix?: string;
}

const NOW = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class GitHubDouble {
  readonly spec: GitHubSpec = loadGitHubSpec();
  readonly violations: Violation[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly pulls: DoublePull[] = [];
  readonly reviews: DoubleReview[] = [];
  readonly failures: InjectedFailure[] = [];
  /** Commits pushed straight to the default branch (no pull request). */
  private server: Server | undefined;
  url = '';

  constructor(readonly options: GitHubDoubleOptions) {}

  get login(): string {
    return this.options.login ?? 'coffer-bot';
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.violations.push({ where: 'response', operation: '?', message: `double crashed: ${(error as Error).stack}` });
        response.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  failNext(failure: InjectedFailure): void {
    this.failures.push({ times: 1, ...failure });
  }

  /** A pull request set up by the test (open, or closed and merged with `commits`). */
  addPull(pull: { head: string; author: string; sha: string; state: 'open' | 'merged'; title?: string; commits?: string[] }): DoublePull {
    const created: DoublePull = {
      number: this.pulls.length + 1,
      title: pull.title ?? `merge ${pull.head}`,
      body: null,
      head: pull.head,
      headSha: pull.sha,
      base: this.options.defaultBranch ?? 'main',
      author: pull.author,
      state: pull.state === 'open' ? 'open' : 'closed',
      mergedAt: pull.state === 'merged' ? NOW() : null,
      labels: [],
      requestedReviewers: [],
      requestedTeams: [],
      commits: pull.commits ?? [pull.sha],
      createdAt: NOW(),
    };
    this.pulls.push(created);
    return created;
  }

  /** A merged pull request whose commits are `commits`. */
  addMergedPull(pull: { head: string; author: string; title?: string; commits: string[] }): DoublePull {
    return this.addPull({ ...pull, sha: pull.commits.at(-1) ?? '0'.repeat(40), state: 'merged' });
  }

  addReview(review: Omit<DoubleReview, 'submittedAt' | 'commit'> & { commit?: string }): void {
    const pull = this.pulls.find((candidate) => candidate.number === review.pull)!;
    this.reviews.push({ commit: pull.headSha, submittedAt: NOW(), ...review });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const prefix = this.options.pathPrefix ?? '';
    if (prefix && url.pathname.startsWith(`${prefix}/`)) url.pathname = url.pathname.slice(prefix.length);
    else if (prefix) {
      this.violations.push({ where: 'request', operation: `${request.method} ${url.pathname}`, message: `not under ${prefix}` });
      response.writeHead(404).end();
      return;
    }
    const method = request.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const matched = this.spec.match(method, url.pathname);
    if (!matched) {
      this.violations.push({ where: 'request', operation: `${method} ${url.pathname}`, message: 'no operation of the GitHub API has this method and path' });
      return this.send(response, undefined, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    }
    const { operation, params } = matched;
    const record = (status: number) => this.requests.push({ method, path: url.pathname + url.search, operationId: operation.operationId, status });
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        this.violations.push({ where: 'request', operation: operation.operationId, message: 'body is not JSON' });
        record(400);
        return this.send(response, operation, 400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest' }, {}, false);
      }
    }
    const problems = this.spec.checkRequest(operation, params, url.searchParams, body);
    if (problems.length > 0) {
      for (const message of problems) this.violations.push({ where: 'request', operation: operation.operationId, message });
      record(400);
      return this.send(response, operation, 400, { message: `request does not match the OpenAPI description: ${problems.join('; ')}` }, {}, false);
    }
    const auth = request.headers.authorization ?? '';
    if (auth !== `token ${this.options.token}` && auth !== `Bearer ${this.options.token}`) {
      record(401);
      return this.send(response, operation, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    }
    const failure = this.failures.find((candidate) => candidate.method === method && candidate.template === operation.template && (candidate.times ?? 1) > 0);
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      record(failure.status);
      return this.send(response, operation, failure.status, { message: failure.message ?? 'Server Error', documentation_url: 'https://docs.github.com/rest' }, failure.headers ?? {});
    }
    if (params['owner'] !== this.options.owner || params['repo'] !== this.options.repo) {
      record(404);
      return this.send(response, operation, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    }
    const [status, payload, headers] = this.route(operation, params, url.searchParams, body as Json | undefined);
    record(status);
    return this.send(response, operation, status, payload, headers);
  }

  private send(response: ServerResponse, operation: Operation | undefined, status: number, payload: unknown, headers: Record<string, string> = {}, validate = true): void {
    if (operation && validate) {
      for (const message of this.spec.checkResponse(operation, status, payload)) this.violations.push({ where: 'response', operation: operation.operationId, message });
    }
    const text = payload === undefined ? '' : JSON.stringify(payload);
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3', ...headers });
    response.end(text);
  }

  private page<T>(items: T[], query: URLSearchParams, path: string): [T[], Record<string, string>] {
    const size = Number(query.get('per_page') ?? this.options.defaultPageSize ?? 30);
    const page = Number(query.get('page') ?? 1);
    const last = Math.max(1, Math.ceil(items.length / size));
    const headers: Record<string, string> = {};
    if (page < last) {
      const next = new URLSearchParams(query);
      next.set('page', String(page + 1));
      const lastQuery = new URLSearchParams(query);
      lastQuery.set('page', String(last));
      const base = `${this.url}${this.options.pathPrefix ?? ''}${path}`;
      headers['link'] = `<${base}?${next}>; rel="next", <${base}?${lastQuery}>; rel="last"`;
    }
    return [items.slice((page - 1) * size, page * size), headers];
  }

  private user(login: string): Json {
    const user = this.spec.example('simple-user');
    const id = [...login].reduce((sum, char) => sum * 31 + char.charCodeAt(0), 7) % 1_000_000;
    return { ...user, login, id, node_id: `U_${id}`, html_url: `https://github.com/${login}`, url: `${this.url}/users/${login}` };
  }

  private repository(): Json {
    const repository = this.spec.example('full-repository');
    const { owner, repo } = this.options;
    return {
      ...repository,
      name: repo,
      full_name: `${owner}/${repo}`,
      owner: this.user(owner),
      default_branch: this.options.defaultBranch ?? 'main',
      has_discussions: false,
      html_url: `https://github.com/${owner}/${repo}`,
    };
  }

  private label(name: string): Json {
    return { id: name.length * 7919, node_id: `L_${name}`, url: `${this.url}/repos/${this.options.owner}/${this.options.repo}/labels/${encodeURIComponent(name)}`, name, description: 'set by coffer', color: 'ededed', default: false };
  }

  /** A pull request in the shape of `pull-request` (full) or `pull-request-simple` (lists). */
  private pullJson(pull: DoublePull, full: boolean): Json {
    const template = this.spec.example(full ? 'pull-request' : 'pull-request-simple');
    const repository = this.repository();
    const { owner, repo } = this.options;
    const base = `${this.url}/repos/${owner}/${repo}`;
    const branchRef = (ref: string, sha: string) => ({ ...(template['head'] as Json), label: `${owner}:${ref}`, ref, sha, user: this.user(owner), repo: repository });
    const json: Json = {
      ...template,
      id: 5000 + pull.number,
      node_id: `PR_${pull.number}`,
      number: pull.number,
      url: `${base}/pulls/${pull.number}`,
      html_url: `https://github.com/${owner}/${repo}/pull/${pull.number}`,
      state: pull.state,
      title: pull.title,
      body: pull.body,
      user: this.user(pull.author),
      labels: pull.labels.map((name) => this.label(name)),
      requested_reviewers: pull.requestedReviewers.map((login) => this.user(login)),
      requested_teams: pull.requestedTeams.map((slug, index) => ({ id: 900 + index, node_id: `T_${slug}`, url: `${this.url}/teams/${slug}`, html_url: `https://github.com/orgs/${owner}/teams/${slug}`, name: slug, slug, description: null, privacy: 'closed', notification_setting: 'notifications_enabled', permission: 'pull', members_url: `${this.url}/teams/${slug}/members{/member}`, repositories_url: `${this.url}/teams/${slug}/repos`, parent: null, type: 'organization' })),
      head: branchRef(pull.head, pull.headSha),
      base: branchRef(pull.base, this.options.branchCommit?.(pull.base) ?? '0'.repeat(40)),
      created_at: pull.createdAt,
      updated_at: NOW(),
      closed_at: pull.state === 'closed' ? (pull.mergedAt ?? NOW()) : null,
      merged_at: pull.mergedAt,
      merge_commit_sha: pull.mergedAt ? pull.headSha : null,
      assignee: null,
      assignees: [],
      milestone: null,
      draft: false,
      auto_merge: null,
    };
    if (full) Object.assign(json, { merged: pull.mergedAt !== null, mergeable: null, rebaseable: null, mergeable_state: 'unknown', merged_by: null, comments: 0, review_comments: 0, commits: 1, additions: 1, deletions: 1, changed_files: 1 });
    return json;
  }

  private reviewJson(review: DoubleReview, index: number): Json {
    const template = this.spec.example('pull-request-review');
    const { owner, repo } = this.options;
    return {
      ...template,
      id: 80 + index,
      node_id: `PRR_${index}`,
      user: this.user(review.user),
      body: '',
      state: review.state,
      commit_id: review.commit,
      submitted_at: review.submittedAt,
      html_url: `https://github.com/${owner}/${repo}/pull/${review.pull}#pullrequestreview-${80 + index}`,
      pull_request_url: `${this.url}/repos/${owner}/${repo}/pulls/${review.pull}`,
      author_association: 'MEMBER',
    };
  }

  private route(operation: Operation, params: Record<string, string>, query: URLSearchParams, body: Json | undefined): [number, unknown, Record<string, string>?] {
    const path = operation.template.replace(/\{([^}]+)\}/g, (_m, name: string) => params[name]!);
    const invalid = (message: string, code = 'custom'): [number, unknown] => [422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code, message }], documentation_url: 'https://docs.github.com/rest' }];
    const notFound = (): [number, unknown] => [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }];
    const findPull = () => this.pulls.find((pull) => pull.number === Number(params['pull_number'] ?? params['issue_number']));
    switch (operation.operationId) {
      case 'repos/get':
        return [200, this.repository()];
      case 'pulls/list': {
        const state = query.get('state') ?? 'open';
        const head = query.get('head');
        const list = this.pulls.filter((pull) => (state === 'all' || pull.state === state) && (!head || `${this.options.owner}:${pull.head}` === head) && (!query.get('base') || pull.base === query.get('base')));
        const [items, headers] = this.page(list, query, path);
        return [200, items.map((pull) => this.pullJson(pull, false)), headers];
      }
      case 'pulls/create': {
        const head = String(body?.['head'] ?? '');
        const base = String(body?.['base'] ?? '');
        const headSha = this.options.branchCommit?.(head);
        if (!headSha) return invalid(`head: ${head} does not exist`, 'invalid');
        if (this.pulls.some((pull) => pull.state === 'open' && pull.head === head && pull.base === base)) return invalid(`A pull request already exists for ${this.options.owner}:${head}.`);
        if (this.options.branchCommit?.(base) === headSha) return invalid(`No commits between ${base} and ${head}`);
        const pull: DoublePull = { number: this.pulls.length + 1, title: String(body?.['title'] ?? ''), body: (body?.['body'] as string | undefined) ?? null, head, headSha, base, author: this.login, state: 'open', mergedAt: null, labels: [], requestedReviewers: [], requestedTeams: [], commits: [headSha], createdAt: NOW() };
        this.pulls.push(pull);
        return [201, this.pullJson(pull, true), { location: `${this.url}${path}/${pull.number}` }];
      }
      case 'pulls/get': {
        const pull = findPull();
        return pull ? [200, this.pullJson(pull, true)] : notFound();
      }
      case 'pulls/update': {
        const pull = findPull();
        if (!pull) return notFound();
        if (typeof body?.['title'] === 'string') pull.title = body['title'];
        if (typeof body?.['body'] === 'string') pull.body = body['body'];
        pull.headSha = this.options.branchCommit?.(pull.head) ?? pull.headSha;
        return [200, this.pullJson(pull, true)];
      }
      case 'pulls/request-reviewers': {
        const pull = findPull();
        if (!pull) return notFound();
        const reviewers = (body?.['reviewers'] as string[] | undefined) ?? [];
        if (reviewers.includes(pull.author)) return [422, { message: 'Review cannot be requested from pull request author.', documentation_url: 'https://docs.github.com/rest' }];
        pull.requestedReviewers = [...new Set([...pull.requestedReviewers, ...reviewers])];
        pull.requestedTeams = [...new Set([...pull.requestedTeams, ...((body?.['team_reviewers'] as string[] | undefined) ?? [])])];
        return [201, this.pullJson(pull, false)];
      }
      case 'issues/add-labels': {
        const pull = findPull();
        if (!pull) return notFound();
        const labels = Array.isArray(body) ? body : ((body?.['labels'] as (string | { name: string })[] | undefined) ?? []);
        pull.labels = [...new Set([...pull.labels, ...labels.map((label) => (typeof label === 'string' ? label : label.name))])];
        return [200, pull.labels.map((name) => this.label(name))];
      }
      case 'pulls/list-reviews': {
        const reviews = this.reviews.map((review, index) => ({ review, index })).filter(({ review }) => review.pull === Number(params['pull_number']));
        const [items, headers] = this.page(reviews, query, path);
        return [200, items.map(({ review, index }) => this.reviewJson(review, index)), headers];
      }
      case 'repos/list-pull-requests-associated-with-commit': {
        const list = this.pulls.filter((pull) => pull.commits.includes(params['commit_sha']!));
        const [items, headers] = this.page(list, query, path);
        return [200, items.map((pull) => this.pullJson(pull, false)), headers];
      }
      default:
        this.violations.push({ where: 'request', operation: operation.operationId, message: 'the double does not implement this operation' });
        return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }];
    }
  }
}

export async function startGitHubDouble(options: GitHubDoubleOptions): Promise<GitHubDouble> {
  return new GitHubDouble(options).start();
}
