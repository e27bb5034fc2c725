// The koa app: the security headers, one error funnel, then the protected dashboard. The
// webhook is not in it: server.ts hands /hooks/gitlab to webhook.ts before koa sees the request.
import Koa from "koa";
import serveStatic from "koa-static";
import type { Masker } from "../index.js";
import { dashboardApi, dashboardAuth, HttpError, type DashboardAccess } from "./dashboard.js";
import { DashboardPages } from "./dashboard-pages.js";
import { imagesApi } from "./dashboard-images.js";
import { SECURITY_HEADERS } from "./headers.js";
import type { HistoryDiff } from "./image-changes.js";
import type { LogStore } from "./logs.js";
import { Pacer } from "./pacer.js";
import { workersRoute, type WorkerView } from "./queue-workers.js";
import type { Store } from "./store.js";

/** What the app is made of. */
export interface AppDeps {
  store: Store;
  logs: LogStore;
  now: () => number;
  pagesDir: string;
  /** A PNG of a build's console (live while its VM runs, else its failure screenshot). */
  screenshot: (id: number) => Promise<Buffer | undefined>;
  /** The dashboard's token, or an explicit choice to serve it to anyone. */
  access: DashboardAccess;
  masker: Masker;
  /** GitLab's address: the dashboard links back to merge requests, commits and comments. */
  gitlabUrl: string;
  onError: (error: unknown) => void;
  /** The build queue's workers (GET /api/workers); undefined without a queue. */
  workers?: () => Promise<WorkerView[]>;
  /** What changed in each build's image since the build before it (the image history's diff column). */
  imageDiffs?: (ids: readonly number[]) => ReadonlyMap<number, HistoryDiff>;
}

/** Builds the koa app. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.use(securityHeaders());
  app.use(errors(deps));
  app.use(dashboardAuth(deps.access));
  const pages = new DashboardPages(deps.pagesDir);
  app.use(pages.serveAssets());
  app.use(workersRoute(deps.workers));
  app.use(dashboardApi({ ...deps, pages, pacer: new Pacer() }));
  app.use(imagesApi({ ...deps, pages }));
  app.use(staticPages(deps.pagesDir));
  // A dashboard closing its live log mid-stream is normal, not an error.
  app.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "ERR_STREAM_PREMATURE_CLOSE" && error.code !== "ECONNRESET") deps.onError(error);
  });
  return app;
}

function securityHeaders(): Koa.Middleware {
  return (ctx, next) => {
    ctx.set(SECURITY_HEADERS);
    return next();
  };
}

/**
 * The pages. koa-send refuses a path outside the folder (`/..%2f..%2fetc/passwd`), with a
 * NUL byte or that does not decode with a 4xx error; to a client that is simply a page that
 * does not exist: 404, and nothing for the operator's log.
 */
function staticPages(dir: string): Koa.Middleware {
  const serve = serveStatic(dir, { index: "index.html" });
  return async (ctx, next) => {
    try {
      await serve(ctx, next);
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (typeof status === "number" && status >= 400 && status < 500) throw new HttpError(404, "not found");
      throw error;
    }
  };
}

/** The one error middleware: known errors keep their status and message, anything else is a 500 that says nothing. */
function errors(deps: AppDeps): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof HttpError) {
        ctx.status = error.status;
        ctx.body = { error: error.message };
        return;
      }
      deps.onError(error);
      ctx.status = 500;
      ctx.body = { error: "internal error" };
    }
  };
}
