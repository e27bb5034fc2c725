// The koa app: one error funnel, then the (optionally protected) dashboard. The webhook is
// not in it: server.ts hands /hooks/gitlab to webhook.ts before koa sees the request.
import Koa from "koa";
import serveStatic from "koa-static";
import type { Masker } from "../index.js";
import { dashboardApi, dashboardAuth, HttpError } from "./dashboard.js";
import type { LogStore } from "./logs.js";
import type { Store } from "./store.js";

/** What the app is made of. */
export interface AppDeps {
  store: Store;
  logs: LogStore;
  now: () => number;
  pagesDir: string;
  /** A PNG of a build's console (live while its VM runs, else its failure screenshot). */
  screenshot: (id: number) => Promise<Buffer | undefined>;
  dashboardToken?: string;
  masker: Masker;
  onError: (error: unknown) => void;
}

/** Builds the koa app. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.use(errors(deps));
  app.use(dashboardAuth(deps.dashboardToken));
  app.use(dashboardApi(deps));
  app.use(serveStatic(deps.pagesDir, { index: "index.html" }));
  // A dashboard closing its live log mid-stream is normal, not an error.
  app.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "ERR_STREAM_PREMATURE_CLOSE" && error.code !== "ECONNRESET") deps.onError(error);
  });
  return app;
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
