// serve's state dir: its layout and modes, and what a killed service left running in it.
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ServeConfig } from "./config.js";

/**
 * The state dir's layout and modes. With build_user, builds (another user) reach their own
 * work dirs and the ISO cache and nothing else: state_dir and work/ can be crossed but not
 * listed, the logs, screenshots and database are serve's alone.
 */
export function prepareStateDir(config: ServeConfig): void {
  const dir = (path: string, mode?: number) => {
    mkdirSync(path, { recursive: true });
    if (mode !== undefined) chmodSync(path, mode);
  };
  const user = config.buildUser;
  dir(join(config.stateDir, "work"), user ? 0o711 : undefined);
  dir(join(config.stateDir, "cache"), user ? 0o700 : undefined);
  if (!user) return;
  chmodSync(config.stateDir, 0o711);
  chownSync(join(config.stateDir, "cache"), user.uid, user.gid);
  for (const own of ["logs", "screenshots"]) dir(join(config.stateDir, own), 0o700);
}

/** Kills processes (a QEMU left by a killed service) whose command line mentions dir; Linux /proc only. */
export function killProcessesUsing(dir: string): number[] {
  const killed: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    return killed;
  }
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${dir}/`)) continue;
      process.kill(Number(pid), "SIGKILL");
      killed.push(Number(pid));
    } catch {
      // gone already, or not ours
    }
  }
  return killed;
}
