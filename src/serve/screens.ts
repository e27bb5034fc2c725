// Console screenshots for the dashboard. While a build's VM runs, the build page asks every
// few seconds; each open page asking must not cost a QMP screendump (a full-screen PNG
// encode inside QEMU, slow under TCG), so one screenshot serves every request for
// FRESH_MS. A failed build's last screen is copied to state_dir/screenshots/<id>.png,
// because the work dir it was written to is removed.
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** How long one screenshot of a running VM answers for. */
const FRESH_MS = 1_500;

interface Live {
  take: () => Promise<Buffer>;
  last?: { at: number; png: Promise<Buffer | undefined> };
}

/** The console screenshots the dashboard serves: live per running build, saved per failed build. */
export class Screens {
  private readonly live = new Map<number, Live>();

  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A running build says how to take its screenshot. */
  attach(buildId: number, take: () => Promise<Buffer>): void {
    this.live.set(buildId, { take });
  }

  /** The build has ended: no more live screenshots. */
  detach(buildId: number): void {
    this.live.delete(buildId);
  }

  /** Keeps the failure screenshot a build left in its work dir. */
  async keepFailure(buildId: number, path: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await copyFile(path, this.saved(buildId));
  }

  /** The running VM's console (at most FRESH_MS old), else the saved failure screenshot, else undefined. */
  async get(buildId: number): Promise<Buffer | undefined> {
    const live = this.live.get(buildId);
    if (live) {
      const now = this.now();
      if (!live.last || now - live.last.at >= FRESH_MS) {
        // No VM (not started yet, or stopped) is an ordinary answer: nothing to show.
        live.last = { at: now, png: live.take().catch(() => undefined) };
      }
      const png = await live.last.png;
      if (png) return png;
    }
    return readFile(this.saved(buildId)).catch(() => undefined);
  }

  private saved(buildId: number): string {
    return join(this.dir, `${buildId}.png`);
  }
}
