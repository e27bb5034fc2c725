// The dashboard's images: one row per image (/api/images) and each image's history
// (/api/images/<name>), and the two pages that show them (/images, /images/<name>).
import type { Middleware } from "koa";
import type { Masker } from "../index.js";
import { MAX_PER_PAGE } from "./build-queries.js";
import { buildView, dashboardBuild, imageView, type ViewContext } from "./dashboard-views.js";
import type { Store } from "./store.js";

/** What the images routes read. */
export interface ImagesDeps {
  store: Store;
  now: () => number;
  masker: Masker;
  gitlabUrl: string;
}

/** Routes of the images pages and their JSON. */
export function imagesApi(deps: ImagesDeps): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== "GET" && ctx.method !== "HEAD") return next();
    if (ctx.path === "/api/images") {
      ctx.body = deps.store.queries.images().map((row) => imageView(row, deps.masker));
      return;
    }
    const match = /^\/(api\/)?images(?:\/([^/]+))?$/.exec(ctx.path);
    if (!match) return next();
    if (!match[1]) {
      ctx.path = match[2] === undefined ? "/images.html" : "/image.html";
      return next();
    }
    const name = decodeURIComponent(match[2]!);
    const image = deps.store.queries.images().find((row) => row.image === name);
    if (!image) {
      ctx.status = 404;
      ctx.body = { error: `no build of image ${name}` };
      return;
    }
    const c: ViewContext = { now: deps.now(), masker: deps.masker, gitlabUrl: deps.gitlabUrl };
    const { rows } = deps.store.queries.list({ image: name, perPage: MAX_PER_PAGE });
    ctx.body = {
      image: imageView(image, deps.masker),
      // Newest first; `diff` is what changed since the previous build of the image (none yet: `tsimg diff` will feed it).
      builds: rows.map((row) => ({ ...buildView(dashboardBuild(row), c), diff: null })),
    };
  };
}
