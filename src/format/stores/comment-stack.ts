// The active comment stack of the comment-regex selection rules (sops-format.md section 4): one
// list per nesting level; a comment is pushed onto its level, and the level is cleared after each
// non-comment entry, so a comment applies to the next entry at its level and all nested in it.

const EMPTY: readonly string[] = Object.freeze([]);

export class CommentStack {
  private readonly levels: string[][] = [[]];
  private flat: readonly string[] | undefined = EMPTY;

  enter(): void {
    this.levels.push([]);
  }

  leave(): void {
    if ((this.levels.pop()?.length ?? 0) > 0) this.flat = undefined;
  }

  push(comment: string): void {
    this.levels[this.levels.length - 1]?.push(comment);
    this.flat = undefined;
  }

  /** Called after each non-comment entry of the current level. */
  clear(): void {
    const level = this.levels[this.levels.length - 1];
    if (level && level.length > 0) {
      level.length = 0;
      this.flat = undefined;
    }
  }

  /** The active comments, outermost level first (shared while nothing changes). */
  snapshot(): readonly string[] {
    if (this.flat === undefined) {
      const all = this.levels.flat();
      this.flat = all.length === 0 ? EMPTY : Object.freeze(all);
    }
    return this.flat;
  }
}
