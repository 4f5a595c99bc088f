// walkCommits' order on random histories (merges, equal dates): parents before children, then the
// oldest committer date, author date, and otherwise the order commits became ready, exactly as a
// plain scan for the first minimum orders them.
import { describe, expect, it } from 'vitest';
import { type GitCommit, walkCommits } from '../../src/git/repository.js';

const person = (timestamp: number) => ({ name: 'A', email: 'a@example.com', timestamp, timezoneOffset: 0 });

/** The reference: Kahn's algorithm picking the first minimum of the ready list each time. */
function referenceOrder(commits: GitCommit[]): string[] {
  const known = new Set(commits.map((commit) => commit.oid));
  const waiting = new Map(commits.map((commit) => [commit.oid, commit.parents.filter((parent) => known.has(parent)).length]));
  const children = new Map<string, GitCommit[]>();
  for (const commit of commits) for (const parent of commit.parents) if (known.has(parent)) children.set(parent, [...(children.get(parent) ?? []), commit]);
  const ready = commits.filter((commit) => waiting.get(commit.oid) === 0);
  const sorted: string[] = [];
  const before = (a: GitCommit, b: GitCommit) => a.committer.timestamp - b.committer.timestamp || a.author.timestamp - b.author.timestamp;
  while (ready.length > 0) {
    let best = 0;
    for (let index = 1; index < ready.length; index++) if (before(ready[index]!, ready[best]!) < 0) best = index;
    const [next] = ready.splice(best, 1);
    sorted.push(next!.oid);
    for (const child of children.get(next!.oid) ?? []) {
      const left = waiting.get(child.oid)! - 1;
      waiting.set(child.oid, left);
      if (left === 0) ready.push(child);
    }
  }
  return sorted;
}

describe('walkCommits order', () => {
  it('matches the first-minimum scan on random histories with merges and equal dates', async () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const count = 1 + random(60);
      const commits: GitCommit[] = [];
      for (let index = 0; index < count; index++) {
        const parents = index === 0 ? [] : [...new Set(Array.from({ length: 1 + (random(4) === 0 ? 1 : 0) }, () => commits[random(index)]!.oid))];
        commits.push({ oid: `c${round}-${index}`, parents, tree: 't', author: person(random(5)), committer: person(random(4)), message: '', payload: '' });
      }
      const byOid = new Map(commits.map((commit) => [commit.oid, commit]));
      // every commit reachable: one head merging all the tips
      const tips = commits.filter((commit) => !commits.some((other) => other.parents.includes(commit.oid))).map((commit) => commit.oid);
      const head: GitCommit = { oid: `h${round}`, parents: tips, tree: 't', author: person(random(5)), committer: person(random(4)), message: '', payload: '' };
      byOid.set(head.oid, head);
      const walked = await walkCommits(head.oid, [], (oid) => (random(2) ? byOid.get(oid)! : Promise.resolve(byOid.get(oid)!)));
      // the reference gets the commits in the walk's own post-order
      const postOrder: GitCommit[] = [];
      const seen = new Set<string>();
      const visit = (oid: string) => {
        const stack = [{ oid, expanded: false }];
        while (stack.length > 0) {
          const top = stack[stack.length - 1]!;
          if (seen.has(top.oid) && !top.expanded) {
            stack.pop();
            continue;
          }
          if (!top.expanded) {
            top.expanded = true;
            seen.add(top.oid);
            for (const parent of [...byOid.get(top.oid)!.parents].reverse()) if (!seen.has(parent)) stack.push({ oid: parent, expanded: false });
            continue;
          }
          stack.pop();
          if (!postOrder.some((commit) => commit.oid === top.oid)) postOrder.push(byOid.get(top.oid)!);
        }
      };
      visit(head.oid);
      expect(walked.map((commit) => commit.oid)).toEqual(referenceOrder(postOrder));
    }
  });
});
