// The build's HTTP server for kickstarts and other files the guest fetches. It binds
// 127.0.0.1 (the guest reaches it as 10.0.2.2 through QEMU user networking), so nothing
// on the LAN can read the kickstart; Packer binds 0.0.0.0.
import Koa from "koa";
import type { Server } from "node:http";
import { TsimgError } from "../core/errors.js";
import { requireAddressHost } from "./host-check.js";
import { serveDirectory } from "./static-files.js";

export interface HttpServerOptions {
  /** Directory served as the root (Packer's http_directory). */
  directory?: string;
  /** Path -> content (Packer's http_content); wins over the directory. */
  content?: Record<string, string>;
  host: string;
  portMin: number;
  portMax: number;
  /** Called once per request served. */
  onRequest?: (line: string) => void;
}

export interface RunningHttpServer {
  port: number;
  /** Resolves with the first request's path once the guest has asked for anything (a 404 too). */
  firstRequest: Promise<string>;
  /** Replaces the served content, e.g. once placeholders naming the port could be filled in. */
  setContent(content: Record<string, string>): void;
  close(): Promise<void>;
}

/** Starts the server on a free port in the range; fails with a message naming the range. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const app = new Koa();
  // Koa prints errors to stderr by default; a guest that drops a connection is not news.
  app.silent = true;
  let noteRequest: (path: string) => void = () => undefined;
  const firstRequest = new Promise<string>((resolve) => (noteRequest = resolve));
  app.use(async (ctx, next) => {
    noteRequest(ctx.path);
    await next();
    const size = ctx.response.length === undefined ? "" : ` (${ctx.response.length} bytes)`;
    // A file that exists but is not served says why, so a refused symlink is not a mystery.
    const refused = ctx.state.refused ? ` (refused: ${ctx.state.refused})` : "";
    options.onRequest?.(`HTTP ${ctx.method} ${ctx.path} -> ${ctx.status}${size}${refused}`);
  });
  app.use(requireAddressHost());
  let content = toMap(options.content ?? {});
  app.use(async (ctx, next) => {
    const body = content.get(ctx.path);
    if (body === undefined || (ctx.method !== "GET" && ctx.method !== "HEAD")) return next();
    ctx.type = "text/plain";
    ctx.body = body;
  });
  if (options.directory) app.use(serveDirectory(options.directory));

  const server = await listenInRange(app, options);
  const port = (server.address() as { port: number }).port;
  return {
    port,
    firstRequest,
    setContent: (next) => {
      content = toMap(next);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function toMap(content: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(content).map(([path, body]) => [normalizePath(path), body]));
}

function normalizePath(path: string): string {
  return path.startsWith("/") ? path : `/${path}`;
}

async function listenInRange(app: Koa, options: HttpServerOptions): Promise<Server> {
  const count = options.portMax - options.portMin + 1;
  const start = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const port = options.portMin + ((start + i) % count);
    const server = await tryListen(app, port, options.host);
    if (server) return server;
  }
  throw new TsimgError(
    `no free port for the HTTP server in ${options.portMin}..${options.portMax} on ${options.host} (http_port_min..http_port_max): every port is in use`,
  );
}

function tryListen(app: Koa, port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = app.listen({ port, host, exclusive: true });
    server.once("listening", () => resolve(server));
    server.once("error", () => resolve(undefined));
  });
}
