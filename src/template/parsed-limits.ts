// Limits on parsed TOML that no option's type can express, checked before anything walks
// the values. The parser happily returns lists nested 5,000 deep, and every later pass
// (interpolation, validation) recurses and would overflow the stack; and it returns whole
// numbers beyond 2^53 as BigInts, which JSON.stringify (in every "got ..." message) throws
// on. Either was a crash reported as a bug in tsimg, for what is a bad input.

/** Deepest nesting of tables and lists a template may use; no template needs more than a handful ([[post_processor]] > table > list is 3). */
export const MAX_NESTING = 32;

/** What is wrong at `path`. */
export interface LimitProblem {
  path: (string | number)[];
  problem: "too deep" | "too large";
}

/**
 * The first value nested deeper than `limit`, or holding a whole number too large for a
 * JavaScript number. Walks with an explicit stack: recursion is exactly what must not
 * overflow here.
 */
export function findLimitProblem(root: Record<string, unknown>, limit = MAX_NESTING): LimitProblem | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === "bigint") return { path, problem: "too large" };
    if (typeof value !== "object" || value === null || value instanceof Date) continue;
    if (path.length > limit) return { path, problem: "too deep" };
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    // Reversed, so the stack pops them in file order and the first problem written is the one named.
    for (const [key, child] of entries.reverse()) stack.push({ value: child, path: [...path, key] });
  }
  return undefined;
}

/** The words for a problem, without the key. */
export function describeLimitProblem(problem: LimitProblem["problem"]): string {
  return problem === "too deep"
    ? `nested more than ${MAX_NESTING} levels deep (tables and lists); a template never needs that many`
    : `a whole number beyond ${Number.MAX_SAFE_INTEGER} (2^53 - 1, or below its negative); no option takes one that large`;
}
