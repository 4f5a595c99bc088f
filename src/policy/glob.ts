// File globs of coffer.yaml environments, matched against slash-separated paths relative to the
// repository root. Our own small matcher (path.matchesGlob is experimental on Node 20):
// `**` any number of directories, `*` and `?` within one path segment, `{a,b}` alternatives,
// `[abc]` character classes; everything else is literal.

/** A glob that cannot be compiled; `message` says why (the caller adds the file and line). */
export class GlobSyntaxError extends Error {
  override readonly name = 'GlobSyntaxError';
}

function escapeLiteral(char: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(char) ? `\\${char}` : char;
}

// Compiled globs: `coffer verify` matches every file against every environment's globs, and
// compiling them anew each time was a visible share of its run. The RegExps have no g/y flag, so
// sharing them is safe.
const compiled = new Map<string, RegExp>();

/** Compiles a glob to an anchored RegExp; throws GlobSyntaxError on bad syntax. */
export function globToRegExp(glob: string): RegExp {
  let pattern = compiled.get(glob);
  if (pattern === undefined) {
    pattern = compileGlob(glob);
    if (compiled.size < 1000) compiled.set(glob, pattern);
  }
  return pattern;
}

function compileGlob(glob: string): RegExp {
  if (glob === '') throw new GlobSyntaxError('the glob is empty');
  if (glob.startsWith('/')) throw new GlobSyntaxError('globs are relative to the directory of coffer.yaml and must not start with /');
  let source = '';
  let braceDepth = 0;
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index]!;
    if (char === '*') {
      if (glob[index + 1] === '*') {
        const atStart = index === 0 || glob[index - 1] === '/';
        const atEnd = index + 2 === glob.length || glob[index + 2] === '/';
        if (!atStart || !atEnd) throw new GlobSyntaxError('`**` must be a whole path segment (as in `secrets/**/*.yaml`)');
        if (index + 2 === glob.length) source += '.*';
        else {
          // `**/` matches zero or more directories
          source += '(?:[^/]+/)*';
          index++;
        }
        index++;
      } else source += '[^/]*';
    } else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = glob.indexOf(']', index + 2);
      if (end < 0) throw new GlobSyntaxError('a `[` has no closing `]`');
      let body = glob.slice(index + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      source += `[${body.replace(/\\/g, '\\\\')}]`;
      index = end;
    } else if (char === '{') {
      braceDepth++;
      source += '(?:';
    } else if (char === '}' && braceDepth > 0) {
      braceDepth--;
      source += ')';
    } else if (char === ',' && braceDepth > 0) source += '|';
    else source += escapeLiteral(char);
  }
  if (braceDepth > 0) throw new GlobSyntaxError('a `{` has no closing `}`');
  try {
    return new RegExp(`^${source}$`);
  } catch {
    throw new GlobSyntaxError('the glob is not valid');
  }
}

/** True when the slash-separated relative path matches the glob. */
export function matchesGlob(path: string, glob: string | RegExp): boolean {
  return (typeof glob === 'string' ? globToRegExp(glob) : glob).test(path);
}
