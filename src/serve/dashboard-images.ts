// The dashboard's images: one row per image (/api/images) and each image's history
// (/api/images/<name>), and the two pages that show them (/images, /images/<name>), rendered
// with that same JSON in them.
import type { Middleware } from "koa";
import type { Masker } from "../index.js";
import { MAX_PER_PAGE } from "./build-queries.js";
import type { DashboardPages } from "./dashboard-pages.js";
import { buildView, dashboardBuild, imageView, type ViewContext } from "./dashboard-views.js";
import type { HistoryDiff } from "./image-changes.js";
import type { Store } from "./store.js";

/** What the images routes read. */
export interface ImagesDeps {
  store: Store;
  now: () => number;
  masker: Masker;
  gitlabUrl: string;
  /** The HTML pages, rendered with their first view's data. */
  pages: DashboardPages;
  /** What changed in each of these builds' images since the build before (image-changes.ts); none without it. */
  imageDiffs?: (ids: readonly number[]) => ReadonlyMap<number, HistoryDiff>;
}

/** Routes of the images pages and their JSON. */
export function imagesApi(deps: ImagesDeps): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== "GET" && ctx.method !== "HEAD") return next();
    if (ctx.path === "/api/images") {
      ctx.body = images(deps);
      return;
    }
    const match = /^\/(api\/)?images(?:\/([^/]+))?$/.exec(ctx.path);
    if (!match) return next();
    if (!match[1] && match[2] === undefined) {
      ctx.type = "html";
      ctx.body = deps.pages.render("images.html", images(deps));
      return;
    }
    const name = decodeURIComponent(match[2]!);
    const history = imageHistory(deps, name);
    if (!match[1]) {
      // An image without builds: the page asks the API, which says so.
      ctx.type = "html";
      ctx.body = deps.pages.render("image.html", history);
    } else if (history) ctx.body = history;
    else {
      ctx.status = 404;
      ctx.body = { error: `no build of image ${name}` };
    }
  };
}

/** Every image's row, as /api/images answers. */
function images(deps: ImagesDeps): Record<string, unknown>[] {
  return deps.store.queries.images().map((row) => imageView(row, deps.masker));
}

/** An image and its builds, newest first, as /api/images/<name> answers; undefined when it has none. */
function imageHistory(deps: ImagesDeps, name: string): Record<string, unknown> | undefined {
  const image = deps.store.queries.images().find((row) => row.image === name);
  if (!image) return undefined;
  const c: ViewContext = { now: deps.now(), masker: deps.masker, gitlabUrl: deps.gitlabUrl };
  const { rows } = deps.store.queries.list({ image: name, perPage: MAX_PER_PAGE });
  const builds = rows.map(dashboardBuild);
  const diffs = deps.imageDiffs?.(builds.map((b) => b.id)) ?? new Map<number, HistoryDiff>();
  return {
    image: imageView(image, deps.masker),
    builds: builds.map((b) => {
      const diff = diffs.get(b.id);
      return historyRow(buildView(b, c), diff && maskDiff(diff, deps.masker));
    }),
  };
}

/** Package names, users and paths are the image's; masked all the same, as everything serve shows. */
function maskDiff(diff: HistoryDiff, masker: Masker): HistoryDiff {
  return { base: diff.base, summary: masker.mask(diff.summary), changes: diff.changes.map((c) => masker.mask(c)) };
}

/**
 * What the history shows of a build: up to 200 of them come with the page, so only these
 * fields (a third of a whole build's JSON; /api/builds/<id> has the rest). `diff` is what
 * changed in the image since the build before it on the same target branch, from their
 * SBOMs; null for a build with no SBOM recorded (failed, or from before serve kept them).
 */
function historyRow(b: Record<string, unknown>, diff: HistoryDiff | undefined): Record<string, unknown> {
  const links = b.links as { mr: string; commit: string };
  const { id, version, sha, mrIid, state, durationMs, finishedAt } = b;
  return {
    id,
    version,
    sha,
    mrIid,
    state,
    durationMs,
    finishedAt,
    links: { mr: links.mr, commit: links.commit },
    diff: diff ?? null,
  };
}
