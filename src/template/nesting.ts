// A depth limit on parsed TOML. The parser happily returns arrays nested 5,000 deep, and
// every later pass (interpolation, validation) walks values recursively and would overflow
// the stack: a crash reported as a bug in tsimg, for what is a bad input. No template needs
// more than a handful of levels ([[post_processor]] > table > list is 3).

/** Deepest nesting of tables and lists a template may use. */
export const MAX_NESTING = 32;

/**
 * The key path of the first value nested deeper than `limit`, or undefined. Walks with an
 * explicit stack: recursion is exactly what must not overflow here.
 */
export function findTooDeep(root: Record<string, unknown>, limit = MAX_NESTING): (string | number)[] | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value !== "object" || value === null || value instanceof Date) continue;
    if (path.length > limit) return path;
    const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (const [key, child] of entries) stack.push({ value: child, path: [...path, key] });
  }
  return undefined;
}
