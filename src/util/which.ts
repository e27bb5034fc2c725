// Finds a program on PATH without running it.
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** The full path of `name` on PATH, or undefined. */
export async function findProgram(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
