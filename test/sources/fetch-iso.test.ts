// ISO fetching: real HTTP servers (node:http) and real files in a temp cache. The server is
// what fetchIso works against, so it is real; only its misbehaviour (truncating, 404) is staged.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { fetchIso, type FetchIsoOptions } from "../../src/sources/iso.js";

const ISO = Buffer.alloc(3 * 1024 * 1024 + 123);
for (let i = 0; i < ISO.length; i++) ISO[i] = (i * 7919) % 251;
const SHA256 = createHash("sha256").update(ISO).digest("hex");
const WRONG = "0".repeat(64);

type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** Serves ISO at /x.iso; `behaviour` decides each answer. Records every request. */
async function serve(
  behaviour: Behaviour = honest,
): Promise<{ url: string; requests: { range?: string }[]; close(): Promise<void> }> {
  const requests: { range?: string }[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.headers.range ? { range: req.headers.range } : {});
    behaviour(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** Answers like a normal web server, ranges included. */
function honest(req: IncomingMessage, res: ServerResponse): void {
  if (req.url !== "/x.iso") return void res.writeHead(404).end("not found");
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  const start = range ? Number(range[1]) : 0;
  if (start >= ISO.length) return void res.writeHead(416).end();
  res.writeHead(range ? 206 : 200, {
    "Content-Length": ISO.length - start,
    ...(range ? { "Content-Range": `bytes ${start}-${ISO.length - 1}/${ISO.length}` } : {}),
  });
  res.end(ISO.subarray(start));
}

/** Sends the headers for the whole file, half the bytes, then drops the connection. */
function truncating(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "Content-Length": ISO.length });
  // Close with a FIN after the half is sent, as a dropped upstream does. res.destroy() sent a
  // RST, and a RST lets the client's kernel drop bytes not read yet: on a loaded machine the
  // client then had none of the half, and the resume test failed (it restarted from 0, right).
  res.write(ISO.subarray(0, ISO.length >> 1), () => res.socket?.end());
}

let cache: string;
let log: string[];
const dirs: string[] = [];

function options(sources: string[], checksum: string, more: Partial<FetchIsoOptions> = {}): FetchIsoOptions {
  return {
    sources,
    checksum,
    resolveLocal: (p) => p,
    cacheDir: cache,
    events: { info: (m) => log.push(`info: ${m}`), warn: (m) => log.push(`warn: ${m}`) },
    downloadRetryDelayMs: 20,
    ...more,
  };
}

function cacheFiles(): string[] {
  const root = join(cache, "downloads");
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), "tsimg-cache-"));
  dirs.push(cache);
  log = [];
});
afterEach(() => vi.unstubAllGlobals());
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("fetchIso over HTTP", () => {
  test("downloads into the cache keyed by checksum, verifies it, and the next build makes no request and does not hash again", async () => {
    const server = await serve();
    try {
      const first = await fetchIso(options([`${server.url}/x.iso`], `sha256:${SHA256}`));
      expect(first.path).toBe(join(cache, "downloads", `sha256-${SHA256}`, "x.iso"));
      expect(createHash("sha256").update(readFileSync(first.path)).digest("hex")).toBe(SHA256);
      expect(first.digests.sha256).toBe(SHA256);
      expect(server.requests).toHaveLength(1);
      expect(log).toContain("info: sha256 of x.iso matches");

      log = [];
      const second = await fetchIso(options([`${server.url}/x.iso`], `sha256:${SHA256}`));
      expect(second.path).toBe(first.path);
      expect(server.requests).toHaveLength(1); // no request at all
      expect(log.some((l) => l.includes("verified before and has not changed"))).toBe(true);
    } finally {
      await server.close();
    }
  });

  test("a cached file that changed (size or mtime) is hashed again; a corrupted one is replaced by a fresh download", async () => {
    const server = await serve();
    try {
      const { path } = await fetchIso(options([`${server.url}/x.iso`], `sha256:${SHA256}`));
      const corrupt = Buffer.from(ISO);
      corrupt[1000] = corrupt[1000]! ^ 0xff;
      writeFileSync(path, corrupt);
      utimesSync(path, new Date(), new Date(Date.now() + 5000));
      log = [];
      await fetchIso(options([`${server.url}/x.iso`], `sha256:${SHA256}`));
      expect(
        log.some((l) => l.startsWith("warn: iso_checksum does not match") && l.includes("downloading it again")),
      ).toBe(true);
      expect(server.requests).toHaveLength(2);
      expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(SHA256);
    } finally {
      await server.close();
    }
  });

  test("a wrong checksum fails showing both sums, and the download does not stay in the cache", async () => {
    const server = await serve();
    try {
      const error = await fetchIso(options([`${server.url}/x.iso`], `sha256:${WRONG}`)).catch((e: Error) => e);
      expect((error as Error).message).toBe(
        `iso_checksum does not match ${join(cache, "downloads", `sha256-${WRONG}`, "x.iso")}: expected sha256:${WRONG}, got sha256:${SHA256} (the download was removed from the cache)`,
      );
      expect(cacheFiles()).toEqual([]);
    } finally {
      await server.close();
    }
  });

  test("a transfer cut short is resumed with a Range request, and the result is verified", async () => {
    const server = await serve((req, res, n) => (n === 1 ? truncating(req, res) : honest(req, res)));
    try {
      const { path } = await fetchIso(options([`${server.url}/x.iso`], `sha256:${SHA256}`));
      expect(server.requests).toHaveLength(2);
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.requests[1]!.range ?? "")?.[1]);
      expect(resumedAt).toBeGreaterThan(0);
      expect(resumedAt).toBeLessThanOrEqual(ISO.length >> 1);
      expect(log).toContain(`info: ${server.url}/x.iso: resuming at ${resumedAt} bytes`);
      expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(SHA256);
    } finally {
      await server.close();
    }
  });

  test("a download that never completes is not used: the build fails, and only the .part stays (to resume)", async () => {
    const server = await serve(truncating);
    try {
      const error = await fetchIso(options([`${server.url}/x.iso`], `sha256:${SHA256}`)).catch((e: Error) => e);
      expect((error as Error).message).toMatch(
        new RegExp(`^cannot download ${server.url}/x.iso: the transfer broke off after \\d+ of ${ISO.length} bytes`),
      );
      expect(cacheFiles()).toEqual(["x.iso.part"]);
      expect(server.requests.length).toBe(4);
      expect(
        log.filter(
          (l) => l.startsWith(`warn: ${server.url}/x.iso: the transfer broke off`) && l.includes("trying again in"),
        ),
      ).toHaveLength(3);
    } finally {
      await server.close();
    }
  });

  test("a server answering 503 is tried 4 times, pausing longer each time it gives nothing", async () => {
    const server = await serve((_req, res) => void res.writeHead(503).end("busy"));
    try {
      const started = Date.now();
      const error = await fetchIso(
        options([`${server.url}/x.iso`], `sha256:${SHA256}`, { downloadRetryDelayMs: 100 }),
      ).catch((e: Error) => e);
      expect((error as Error).message).toBe(
        `cannot download ${server.url}/x.iso: HTTP 503 Service Unavailable (gave up after 4 attempts; the partial file stays in the cache to resume next time)`,
      );
      expect(server.requests).toHaveLength(4);
      expect(log.filter((l) => l.includes("trying again"))).toEqual([
        `warn: ${server.url}/x.iso: HTTP 503 Service Unavailable; trying again in 0.1 s (attempt 2 of 4)`,
        `warn: ${server.url}/x.iso: HTTP 503 Service Unavailable; trying again in 0.2 s (attempt 3 of 4)`,
        `warn: ${server.url}/x.iso: HTTP 503 Service Unavailable; trying again in 0.4 s (attempt 4 of 4)`,
      ]);
      // The pauses really happen (0.1 + 0.2 + 0.4 s).
      expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    } finally {
      await server.close();
    }
  });

  test("iso_urls: a 404 on the first is reported and the next one is used", async () => {
    const server = await serve();
    try {
      const { path } = await fetchIso(options([`${server.url}/gone.iso`, `${server.url}/x.iso`], `sha256:${SHA256}`));
      expect(path.endsWith("/x.iso")).toBe(true);
      expect(log).toContain(
        `warn: cannot download ${server.url}/gone.iso: HTTP 404 Not Found; trying the next of iso_urls`,
      );
    } finally {
      await server.close();
    }
  });

  test("file:<URL> checksum lists are fetched and matched by the ISO's name", async () => {
    const sums = await serve((req, res) =>
      req.url === "/SHA256SUMS" ? res.end(`${WRONG}  other.iso\n${SHA256}  x.iso\n`) : honest(req, res),
    );
    try {
      const { digests } = await fetchIso(options([`${sums.url}/x.iso`], `file:${sums.url}/SHA256SUMS`));
      expect(digests.sha256).toBe(SHA256);
    } finally {
      await sums.close();
    }
  });
});

describe("fetchIso with local files", () => {
  test("a template naming only local files makes no network request at all", async () => {
    const fetchSpy = vi.fn(() => Promise.reject(new Error("no network here")));
    vi.stubGlobal("fetch", fetchSpy);
    const dir = mkdtempSync(join(tmpdir(), "tsimg-iso-"));
    dirs.push(dir);
    writeFileSync(join(dir, "x.iso"), ISO);
    writeFileSync(join(dir, "SHA256SUMS"), `${SHA256}  x.iso\n`);
    const fetched = await fetchIso(
      options([join(dir, "missing.iso"), join(dir, "x.iso")], `file:${join(dir, "SHA256SUMS")}`),
    );
    expect(fetched).toEqual({ path: join(dir, "x.iso"), digests: { sha256: SHA256 }, downloaded: false });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  test("a BSD-style list (SHA256 (name) = hex) verifies the ISO, and a wrong line in it fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-iso-"));
    dirs.push(dir);
    writeFileSync(join(dir, "x.iso"), ISO);
    writeFileSync(join(dir, "CHECKSUM"), `SHA256 (other.iso) = ${WRONG}\nSHA256 (x.iso) = ${SHA256}\n`);
    const fetched = await fetchIso(options([join(dir, "x.iso")], `file:${join(dir, "CHECKSUM")}`));
    expect(fetched.digests).toEqual({ sha256: SHA256 });
    writeFileSync(join(dir, "CHECKSUM"), `SHA256 (x.iso) = ${WRONG}\n`);
    const error = await fetchIso(options([join(dir, "x.iso")], `file:${join(dir, "CHECKSUM")}`)).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      `iso_checksum does not match ${join(dir, "x.iso")}: expected sha256:${WRONG}, got sha256:${SHA256}`,
    );
  });

  test("a mismatch on the user's own file deletes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-iso-"));
    dirs.push(dir);
    mkdirSync(join(dir, "iso"));
    writeFileSync(join(dir, "iso/x.iso"), ISO);
    const error = await fetchIso(options([join(dir, "iso/x.iso")], `sha256:${WRONG}`)).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      `iso_checksum does not match ${join(dir, "iso/x.iso")}: expected sha256:${WRONG}, got sha256:${SHA256}`,
    );
    expect(readFileSync(join(dir, "iso/x.iso")).equals(ISO)).toBe(true);
  });

  test("a verified local file is not hashed again while unchanged, and is when it changes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-iso-"));
    dirs.push(dir);
    writeFileSync(join(dir, "x.iso"), ISO);
    await fetchIso(options([join(dir, "x.iso")], SHA256));
    log = [];
    await fetchIso(options([join(dir, "x.iso")], SHA256));
    expect(log.some((l) => l.includes("verified before"))).toBe(true);
    writeFileSync(join(dir, "x.iso"), Buffer.concat([ISO, Buffer.from("x")]));
    log = [];
    const error = await fetchIso(options([join(dir, "x.iso")], SHA256)).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^iso_checksum does not match/);
  });
});
