// Real temp git repositories built from an object literal: a list of commits, each with its
// author, date and files (text, or null to delete), optionally on a branch or merging one.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ValueStash } from '../../src/crypto/tree-cipher.js';
import type { KeyRing } from '../../src/file/key-ring.js';
import { encryptDocument, openFile, rotateDataKey, sealFile, updateRecipients } from '../../src/file/secrets-file.js';
import { parseKeyPath, resolveKeyPath } from '../../src/format/key-path.js';
import { detectStore, getStore } from '../../src/format/stores/index.js';
import type { PlainValue } from '../../src/format/tree.js';
import { planFor, type TestKey } from '../helpers/keys.js';

export interface CommitSpec {
  /** `Name <email>`. */
  author: string;
  /** ISO date; committer date too. */
  date: string;
  message?: string;
  files?: Record<string, string | null>;
  /** `git mv` before writing files: [from, to]. */
  rename?: [string, string];
  /** Switch to this branch first (created from the current commit when new). */
  branch?: string;
  /** Merge this branch into the current one (no fast-forward); `files` resolve conflicts. */
  merge?: string;
  /** Extra `git -c` settings for this commit (signing). */
  config?: Record<string, string>;
}

export interface TestRepo {
  dir: string;
  /** Runs git in the repository with a clean environment; returns stdout. */
  git(args: string[], env?: Record<string, string>): string;
  commit(spec: CommitSpec): string;
  dispose(): Promise<void>;
}

function identity(author: string): { name: string; email: string } {
  const match = /^(.*?)\s*<(.*)>$/.exec(author);
  return match ? { name: match[1]!, email: match[2]! } : { name: author, email: `${author.toLowerCase()}@example.com` };
}

export async function createTestRepo(commits: CommitSpec[] = [], options: { home?: string; gnupgHome?: string } = {}): Promise<TestRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-git-'));
  const home = options.home ?? join(dir, '.home');
  mkdirSync(home, { recursive: true });
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GNUPGHOME: options.gnupgHome ?? process.env.GNUPGHOME ?? join(home, '.gnupg') };
  const git = (args: string[], env: Record<string, string> = {}) =>
    execFileSync('git', args, { cwd: dir, env: { ...baseEnv, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  git(['init', '-q', '-b', 'main']);
  writeFileSync(join(dir, '.git', 'info', 'exclude'), '.home\n');
  const repo: TestRepo = {
    dir,
    git,
    commit(spec) {
      const who = identity(spec.author);
      const env = {
        GIT_AUTHOR_NAME: who.name,
        GIT_AUTHOR_EMAIL: who.email,
        GIT_AUTHOR_DATE: spec.date,
        GIT_COMMITTER_NAME: who.name,
        GIT_COMMITTER_EMAIL: who.email,
        GIT_COMMITTER_DATE: spec.date,
      };
      const settings = Object.entries({ 'commit.gpgsign': 'false', ...spec.config }).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
      if (spec.branch) {
        const exists = git(['branch', '--list', spec.branch]).trim() !== '';
        git(exists ? ['checkout', '-q', spec.branch] : ['checkout', '-q', '-b', spec.branch]);
      }
      if (spec.merge) {
        try {
          git([...settings, 'merge', '-q', '--no-ff', '--no-commit', spec.merge], env);
        } catch {
          // a conflict: the spec's files are the resolution
        }
      }
      if (spec.rename) git(['mv', spec.rename[0], spec.rename[1]]);
      for (const [path, content] of Object.entries(spec.files ?? {})) {
        const absolute = join(dir, path);
        if (content === null) rmSync(absolute);
        else {
          mkdirSync(dirname(absolute), { recursive: true });
          writeFileSync(absolute, content);
        }
      }
      git(['add', '-A']);
      git([...settings, 'commit', '-q', '--allow-empty', '-m', spec.message ?? (spec.merge ? `merge ${spec.merge}` : `commit at ${spec.date}`)], env);
      return git(['rev-parse', 'HEAD']).trim();
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
  for (const spec of commits) repo.commit(spec);
  return repo;
}

const encoder = new TextEncoder();

/** Writes encrypted texts the way coffer does (stable ciphertext), or the way SOPS does (all new). */
export class SecretsWriter {
  constructor(readonly keys: KeyRing) {}

  /** A new encrypted file from plain YAML/JSON text. */
  async encrypt(path: string, plain: string, recipients: TestKey[], now = new Date('2024-01-01T00:00:00Z')): Promise<string> {
    const document = getStore(detectStore(path)).parse(plain, path);
    return encryptDocument(document, path, this.keys, { plan: planFor(...recipients), now });
  }

  /** Sets (or with null removes) key paths; unchanged values keep their ciphertext. */
  async edit(path: string, encrypted: string, changes: Record<string, PlainValue | null>, now = new Date('2024-01-02T00:00:00Z')): Promise<string> {
    const opened = await openFile({ file: path, store: detectStore(path), content: encoder.encode(encrypted) }, this.keys);
    const plain = opened.plain.clone();
    for (const [keyPath, value] of Object.entries(changes)) {
      const segments = resolveKeyPath(parseKeyPath(keyPath), () => false);
      if (value === null) plain.deleteValue(segments);
      else plain.setValue(segments, value);
    }
    return sealFile(opened, plain, now) ?? encrypted;
  }

  /** SOPS-style: every value encrypted again with fresh IVs, same data key (and optional changes). */
  async reEncryptAll(path: string, encrypted: string, changes: Record<string, PlainValue> = {}, now = new Date('2024-01-03T00:00:00Z')): Promise<string> {
    const opened = await openFile({ file: path, store: detectStore(path), content: encoder.encode(encrypted) }, this.keys);
    const plain = opened.plain.clone();
    for (const [keyPath, value] of Object.entries(changes)) plain.setValue(resolveKeyPath(parseKeyPath(keyPath), () => false), value);
    return sealFile({ ...opened, encrypted: opened.encrypted, stash: new ValueStash() }, plain, now)!;
  }

  async rotate(path: string, encrypted: string, recipients?: TestKey[], now = new Date('2024-01-04T00:00:00Z')): Promise<string> {
    const opened = await openFile({ file: path, store: detectStore(path), content: encoder.encode(encrypted) }, this.keys);
    return rotateDataKey(opened, this.keys, recipients ? planFor(...recipients) : undefined, now);
  }

  async setRecipients(path: string, encrypted: string, recipients: TestKey[]): Promise<string> {
    const opened = await openFile({ file: path, store: detectStore(path), content: encoder.encode(encrypted) }, this.keys);
    return (await updateRecipients(opened, this.keys, planFor(...recipients)))!;
  }
}
