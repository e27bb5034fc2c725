// startServer: the store, the log directory, the GitLab client, the build service and the
// koa app, wired together and listening. One process, nothing else to run.
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Masker } from "../index.js";
import { createApp } from "./app.js";
import type { DashboardAccess } from "./dashboard.js";
import type { ServeConfig } from "./config.js";
import { GitLabClient } from "./gitlab.js";
import { LogStore } from "./logs.js";
import { libraryBuild, type BuildFunction } from "./runner.js";
import { BuildService } from "./service.js";
import { killProcessesUsing } from "./state-dir.js";
import { Store } from "./store.js";
import { isHookRequest, webhookHandler } from "./webhook.js";

/** Collaborators a caller may replace (tests: a fake build, a fixed clock). */
export interface ServerDeps {
  buildFunction?: BuildFunction;
  fetch?: typeof fetch;
  now?: () => number;
  onError?: (error: unknown) => void;
  /** Kills what a killed service left running in a build's work dir (default: scan /proc). */
  killLeftovers?: (workDir: string) => void;
}

/** A running service. */
export interface RunningServer {
  url: string;
  service: BuildService;
  store: Store;
  /** Stops listening, cancels running builds, and closes the database. */
  close(): Promise<void>;
}

/** Starts the service: recovers unfinished builds, then listens. */
export async function startServer(config: ServeConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const now = deps.now ?? Date.now;
  const masker = new Masker();
  for (const s of Object.values(config.secrets)) masker.add(s);
  const onError =
    deps.onError ??
    ((e: unknown) => console.error(`tsimg serve: ${masker.mask(e instanceof Error ? e.message : String(e))}`));
  const store = new Store(config.stateDir, now);
  // The version a build's template declares travels in its build-start event (from any worker): kept for the dashboard.
  const logs = new LogStore(join(config.stateDir, "logs"), config.maxLogBytes, (id, event) => {
    if (event.type === "build-start" && event.version !== undefined) store.queries.setVersion(id, event.version);
  });
  const gitlab = new GitLabClient(config.gitlabUrl, config.secrets.gitlabToken, deps.fetch ?? fetch);
  const service = new BuildService({
    config,
    store,
    logs,
    gitlab,
    buildFunction: deps.buildFunction ?? libraryBuild,
    now,
    onError,
  });
  await service.recover(deps.killLeftovers ?? ((dir) => void killProcessesUsing(dir)));
  service.resumeDeliveries();

  const hook = webhookHandler({
    secret: config.secrets.webhookSecret,
    accept: (deliveries) => store.acceptDeliveryWork(deliveries),
    dispatch: (key, event, payload) => service.deliver(key, event, payload),
    onError,
  });
  const app = createApp({
    store,
    logs,
    now,
    pagesDir: pagesDir(),
    screenshot: (id) => service.screens.get(id),
    access: dashboardAccess(config),
    masker,
    gitlabUrl: config.gitlabUrl,
    onError,
    ...(service.remote ? { workers: () => service.remote!.workers() } : {}),
    imageDiffs: (ids) => service.imageChanges.diffsOf(ids),
  });
  const dashboard = app.callback();
  // The webhook first and outside koa: it is the one path that must stay fast under load.
  const server: Server = createServer((req, res) => (isHookRequest(req) ? hook(req, res) : dashboard(req, res)));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  return {
    url: `http://${host}:${port}`,
    service,
    store,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await service.close();
      logs.flush();
      await closed;
      store.close();
    },
  };
}

/** The token when there is one; open only when the settings say so explicitly; else no one (a 401 for every page). */
function dashboardAccess(config: ServeConfig): DashboardAccess {
  if (config.secrets.dashboardToken) return { token: config.secrets.dashboardToken };
  return config.dashboardOpen ? { open: true } : { token: undefined };
}

/** The static pages: beside the compiled file, or in src/ when running from a checkout. */
function pagesDir(): string {
  const here = fileURLToPath(new URL("./public/", import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL("../../src/serve/public/", import.meta.url));
}
