import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { TsimgError } from "../../src/core/errors.js";
import { startHttpServer, type HttpServerOptions, type RunningHttpServer } from "../../src/http/server.js";

const HOST = "127.0.0.1";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-http-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A port the kernel just handed out, so probably free; the range starts there. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function start(options: Partial<HttpServerOptions>): Promise<{ server: RunningHttpServer; requests: string[] }> {
  const requests: string[] = [];
  const portMin = options.portMin ?? (await freePort());
  const server = await startHttpServer({
    host: HOST,
    portMin,
    portMax: options.portMax ?? portMin,
    onRequest: (line) => requests.push(line),
    ...options,
  });
  cleanups.push(() => server.close());
  return { server, requests };
}

async function get(server: RunningHttpServer, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${HOST}:${server.port}${path}`);
  return { status: response.status, body: await response.text() };
}

describe("startHttpServer", () => {
  test.each([
    ["a leading slash", "/ks/rocky9.ks"],
    ["no leading slash", "ks/rocky9.ks"],
  ])("serves http_content keyed with %s", async (_, key) => {
    const { server, requests } = await start({ content: { [key]: "text\nrootpw x\n" } });
    expect(await get(server, "/ks/rocky9.ks")).toEqual({ status: 200, body: "text\nrootpw x\n" });
    expect(requests).toEqual(["HTTP GET /ks/rocky9.ks -> 200 (14 bytes)"]);
  });

  test("serves files from http_directory", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "ks"));
    writeFileSync(join(dir, "ks", "rocky9.ks"), "install\n");
    const { server, requests } = await start({ directory: dir });
    expect(await get(server, "/ks/rocky9.ks")).toEqual({ status: 200, body: "install\n" });
    expect(requests).toEqual(["HTTP GET /ks/rocky9.ks -> 200 (8 bytes)"]);
  });

  test("http_content wins over a file of the same path", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.txt"), "from the directory");
    const { server } = await start({ directory: dir, content: { "/a.txt": "from http_content" } });
    expect(await get(server, "/a.txt")).toEqual({ status: 200, body: "from http_content" });
  });

  test.each<[string, Partial<HttpServerOptions>]>([
    ["http_content", { content: { "/ks.cfg": "x" } }],
    ["an empty http_directory", { directory: "" }],
    ["nothing to serve", {}],
  ])("answers 404 for a missing path with %s", async (_, options) => {
    const { server, requests } = await start(options);
    const response = await get(server, "/missing.ks");
    expect(response.status).toBe(404);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/^HTTP GET \/missing\.ks -> 404( \(\d+ bytes\))?$/);
  });

  test("answers 404 for a file missing from http_directory", async () => {
    const { server, requests } = await start({ directory: tempDir() });
    expect((await get(server, "/nope.ks")).status).toBe(404);
    expect(requests[0]).toMatch(/^HTTP GET \/nope\.ks -> 404( \(\d+ bytes\))?$/);
  });

  test("does not serve files outside http_directory", async () => {
    const parent = tempDir();
    writeFileSync(join(parent, "secret.txt"), "secret");
    const served = join(parent, "http");
    mkdirSync(served);
    const { server, requests } = await start({ directory: served });
    // fetch() resolves a literal "/../" (and "%2e%2e/") itself; an encoded slash reaches the server.
    for (const path of ["/..%2fsecret.txt", "/x/..%2f..%2fsecret.txt"]) {
      const response = await get(server, path);
      expect(response, path).toEqual({ status: 404, body: "Not Found" });
    }
    expect(requests).toEqual([
      "HTTP GET /..%2fsecret.txt -> 404 (refused: outside http_directory)",
      "HTTP GET /x/..%2f..%2fsecret.txt -> 404 (refused: outside http_directory)",
    ]);
  });

  test("does not follow a symlink out of http_directory, for a file or a directory", async () => {
    const parent = tempDir();
    writeFileSync(join(parent, "shadow"), "root:$6$secret-hash");
    mkdirSync(join(parent, "etc"));
    writeFileSync(join(parent, "etc", "passwd"), "root:x:0:0");
    const served = join(parent, "http");
    mkdirSync(served);
    symlinkSync(join(parent, "shadow"), join(served, "ks.cfg"));
    symlinkSync(join(parent, "etc"), join(served, "etc"));
    symlinkSync("../shadow", join(served, "relative.cfg"));
    const { server, requests } = await start({ directory: served });
    for (const path of ["/ks.cfg", "/etc/passwd", "/relative.cfg"]) {
      const response = await get(server, path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toMatch(/root:/);
    }
    expect(requests).toEqual([
      "HTTP GET /ks.cfg -> 404 (refused: outside http_directory)",
      "HTTP GET /etc/passwd -> 404 (refused: outside http_directory)",
      "HTTP GET /relative.cfg -> 404 (refused: outside http_directory)",
    ]);
  });

  test("follows symlinks that stay inside http_directory, and serves a directory that is itself a symlink", async () => {
    const parent = tempDir();
    const real = join(parent, "kickstart");
    mkdirSync(join(real, "ks"), { recursive: true });
    writeFileSync(join(real, "ks", "rocky9.ks"), "install\n");
    symlinkSync("ks/rocky9.ks", join(real, "latest.ks"));
    symlinkSync(real, join(parent, "http"));
    const { server } = await start({ directory: join(parent, "http") });
    expect(await get(server, "/latest.ks")).toEqual({ status: 200, body: "install\n" });
    expect(await get(server, "/ks/rocky9.ks")).toEqual({ status: 200, body: "install\n" });
  });

  test("does not serve dotfiles or anything under a dot directory, even through a symlink", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, ".env"), "TOKEN=secret");
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, ".git", "config"), "url = https://secret@example.com");
    symlinkSync(".env", join(dir, "env.txt"));
    writeFileSync(join(dir, "ks.cfg"), "install");
    const { server, requests } = await start({ directory: dir });
    for (const path of ["/.env", "/.git/config", "/env.txt", "/%2eenv"]) {
      const response = await get(server, path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain("secret");
    }
    expect(requests.slice(0, 3)).toEqual([
      "HTTP GET /.env -> 404 (refused: a dotfile)",
      "HTTP GET /.git/config -> 404 (refused: a dotfile)",
      "HTTP GET /env.txt -> 404 (refused: a dotfile)",
    ]);
    expect(await get(server, "/ks.cfg")).toEqual({ status: 200, body: "install" });
  });

  test("answers HEAD for a file with its length and no body", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "ks.cfg"), "install");
    const { server } = await start({ directory: dir });
    const response = await fetch(`http://${HOST}:${server.port}/ks.cfg`, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe("7");
    expect(await response.text()).toBe("");
  });

  test.each(["POST", "PUT", "DELETE"])("answers %s with neither http_content nor a file", async (method) => {
    const dir = tempDir();
    writeFileSync(join(dir, "file.ks"), "from the directory");
    const { server, requests } = await start({ directory: dir, content: { "/ks.cfg": "rootpw s3cret" } });
    for (const path of ["/ks.cfg", "/file.ks"]) {
      const response = await fetch(`http://${HOST}:${server.port}${path}`, {
        method,
        body: method === "DELETE" ? null : "x",
      });
      const body = await response.text();
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(body).not.toContain("s3cret");
      expect(body).not.toContain("from the directory");
    }
    expect(requests).toEqual([`HTTP ${method} /ks.cfg -> 404`, `HTTP ${method} /file.ks -> 404`]);
  });

  test("binds only the given address: another loopback address of this host is refused", async () => {
    const { server } = await start({ host: "127.0.0.1", content: { "/ks.cfg": "x" } });
    expect((await get(server, "/ks.cfg")).status).toBe(200);
    // Linux routes all of 127/8 to lo: a server on 0.0.0.0 (or ::) would answer 127.0.0.2 too.
    await expect(connects("127.0.0.2", server.port)).resolves.toBe(false);
  });

  test("refuses a request that names the server by a DNS name (DNS rebinding from a browser)", async () => {
    const { server, requests } = await start({ content: { "/ks.cfg": "rootpw s3cret" } });
    for (const host of [
      "attacker.example",
      `attacker.example:${server.port}`,
      `localhost.attacker.example:${server.port}`,
    ]) {
      expect(await rawGet(server.port, "/ks.cfg", host), host).toEqual({ status: 403, body: "Forbidden" });
    }
    expect(requests[0]).toBe(
      'HTTP GET /ks.cfg -> 403 (refused: Host "attacker.example" is a name, not an address (DNS rebinding))',
    );
    for (const host of [
      `10.0.2.2:${server.port}`,
      `127.0.0.1:${server.port}`,
      `localhost:${server.port}`,
      `[::1]:${server.port}`,
    ]) {
      expect(await rawGet(server.port, "/ks.cfg", host), host).toEqual({ status: 200, body: "rootpw s3cret" });
    }
  });

  test("listens on a port within the range", async () => {
    const portMin = await freePort();
    const portMax = portMin + 3;
    const { server } = await start({ portMin, portMax, content: { "/x": "y" } });
    expect(server.port).toBeGreaterThanOrEqual(portMin);
    expect(server.port).toBeLessThanOrEqual(portMax);
    expect((await get(server, "/x")).body).toBe("y");
  });

  test("skips ports in use", async () => {
    const portMin = await freePort();
    const blocker = await occupy(portMin);
    cleanups.push(() => closeServer(blocker));
    const { server } = await start({ portMin, portMax: portMin + 1 });
    expect(server.port).toBe(portMin + 1);
  });

  test("fails with a message naming the range when every port is in use", async () => {
    const portMin = await freePort();
    for (const port of [portMin, portMin + 1]) {
      const blocker = await occupy(port);
      cleanups.push(() => closeServer(blocker));
    }
    const starting = startHttpServer({ host: HOST, portMin, portMax: portMin + 1, content: {} });
    await expect(starting).rejects.toBeInstanceOf(TsimgError);
    await expect(starting).rejects.toThrow(
      new TsimgError(
        `no free port for the HTTP server in ${portMin}..${portMin + 1} on 127.0.0.1 (http_port_min..http_port_max): every port is in use`,
      ),
    );
  });

  test("close() stops the server", async () => {
    const { server } = await start({ content: { "/x": "y" } });
    await server.close();
    await expect(fetch(`http://${HOST}:${server.port}/x`)).rejects.toThrow();
  });
});

/** GET with a Host header of our choosing (fetch() sets its own). */
function rawGet(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: HOST, port, path, headers: { host } }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
  });
}

/** Whether a TCP connection to host:port is accepted. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

async function occupy(port: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: HOST, exclusive: true }, () => resolve());
  });
  return server;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

// The boot step's http_request_timeout asks this: has the guest reached the server at all?
describe("firstRequest", () => {
  test("stays pending until a request comes, then names its path, even for a 404", async () => {
    const { server } = await start({ content: { "/ks/tinyos.ks": "text" } });
    let first: string | undefined;
    void server.firstRequest.then((path) => (first = path));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(first).toBeUndefined();
    expect((await get(server, "/ks/typo.ks")).status).toBe(404);
    await expect(server.firstRequest).resolves.toBe("/ks/typo.ks");
    await get(server, "/ks/tinyos.ks");
    await expect(server.firstRequest).resolves.toBe("/ks/typo.ks");
  });
});
