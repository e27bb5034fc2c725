// A real nginx with WebDAV PUT on 127.0.0.1, for upload tests: its own config, pid, logs,
// temp dirs and document root in a temp dir, so it runs as root (CI) or a user without
// touching /etc/nginx or /var. Debian's nginx-light (scripts/setup.sh installs it) has
// the DAV module built in.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { findFreePort } from "../../src/util/ports.js";

export const NGINX = "/usr/sbin/nginx";

export interface RunningNginx {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The document root: a PUT to `${url}/a/b` lands in `${root}/a/b`. */
  root: string;
  /** nginx's error log, for failure messages. */
  errorLog(): string;
  /** Stops nginx (fast shutdown) and removes its temp dir. */
  stop(): Promise<void>;
}

/** Fails with a clear message when nginx is not installed. */
export function requireNginx(): void {
  if (!existsSync(NGINX))
    throw new Error(
      `${NGINX} is missing: run "bash scripts/setup.sh" (it installs nginx-light), or apt-get install nginx-light`,
    );
}

/** Starts nginx with WebDAV PUT/DELETE/MKCOL on a free port of 127.0.0.1; resolves once it accepts connections. */
export async function startNginx(): Promise<RunningNginx> {
  requireNginx();
  const dir = mkdtempSync(join(tmpdir(), "tsimg-nginx-"));
  const root = join(dir, "dav");
  for (const sub of ["dav", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub));
  const port = await findFreePort(30000, 40000, "127.0.0.1", "test nginx");
  const errorLog = join(dir, "error.log");
  // As root, nginx's workers would switch to "nobody", which cannot write the temp dir: keep them as we are.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username} ${groupName()};\n` : "";
  const config = `${user}daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${errorLog} info;
events { worker_connections 64; }
http {
  access_log ${join(dir, "access.log")};
  client_body_temp_path ${join(dir, "client_body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`;
  const confPath = join(dir, "nginx.conf");
  writeFileSync(confPath, config);
  const child = spawn(NGINX, ["-e", errorLog, "-p", dir, "-c", confPath], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const readLog = () => (existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  try {
    await waitForPort(port, child, 10_000);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx did not start: ${(error as Error).message}\n${stderr}${readLog()}`, { cause: error });
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    root,
    errorLog: readLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function groupName(): string {
  const gid = process.getgid?.() ?? 0;
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.split(":")[2] === String(gid));
  return line?.split(":")[0] ?? "root";
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects if nginx exits first. */
async function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`nginx exited (${child.exitCode ?? child.signalCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}
