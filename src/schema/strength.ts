// Password strength with zxcvbn (0 = guessable in seconds, 4 = very unguessable). The library and
// its dictionaries are imported only when the first password is scored, so keyless runs never
// pay for them.

export interface StrengthScorer {
  /** The zxcvbn score of a value, 0 to 4; `context` are words that make a password weaker (key names). */
  score(value: string, context?: readonly string[]): number;
}

let loading: Promise<StrengthScorer> | undefined;

/** Longer values are scored by their first part only (zxcvbn is slow on long input, and they are strong anyway). */
const SCORED_LENGTH = 100;

export function loadStrengthScorer(): Promise<StrengthScorer> {
  loading ??= (async () => {
    const [core, language] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common')]);
    // bundled, a CommonJS build may arrive as `default`
    const { ZxcvbnFactory } = ((core as unknown as { default?: typeof core }).default ?? core) as typeof core;
    const common = ((language as unknown as { default?: typeof language }).default ?? language) as typeof language;
    const zxcvbn = new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });
    // a score takes milliseconds, and one value under the same key names is scored once per process
    // (in memory only: nothing about a value is ever written down)
    const scores = new Map<string, number>();
    return {
      score: (value, context = []) => {
        const input = value.slice(0, SCORED_LENGTH);
        const key = JSON.stringify([input, context]);
        let score = scores.get(key);
        if (score === undefined) {
          score = zxcvbn.check(input, [...context]).score;
          scores.set(key, score);
        }
        return score;
      },
    };
  })();
  return loading;
}
