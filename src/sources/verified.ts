// Remembers which files were verified, so a multi-GiB ISO is hashed once, not on every build.
// A record holds the file's size, mtime and inode when it was hashed; any change means hash again.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

interface Record_ {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** type -> hex */
  digests: Record<string, string>;
}

export class VerifiedFiles {
  constructor(private readonly dir: string) {}

  /** The digests recorded for `path` if the file is unchanged since, else undefined. */
  async lookup(path: string): Promise<Record<string, string> | undefined> {
    try {
      const [record, now] = await Promise.all([
        readFile(this.recordPath(path), "utf8").then((t) => JSON.parse(t) as Record_),
        stat(path),
      ]);
      const same =
        record.path === path && record.size === now.size && record.mtimeMs === now.mtimeMs && record.ino === now.ino;
      return same ? record.digests : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records `digests` for `path` as it is now (written atomically). */
  async remember(path: string, digests: Record<string, string>): Promise<void> {
    const now = await stat(path);
    const record: Record_ = { path, size: now.size, mtimeMs: now.mtimeMs, ino: now.ino, digests };
    await mkdir(this.dir, { recursive: true });
    const file = this.recordPath(path);
    await writeFile(`${file}.tmp`, JSON.stringify(record));
    await rename(`${file}.tmp`, file);
  }

  private recordPath(path: string): string {
    return join(this.dir, `${createHash("sha256").update(path).digest("hex").slice(0, 32)}.json`);
  }
}
