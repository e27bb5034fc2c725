// The dashboard's HTML pages, rendered by serve so that a page draws its data without
// waiting for a script to ask for it: each page carries its first view's JSON (the same
// JSON its API answers) in a <script type="application/json"> block, which the browser
// never runs (the CSP still allows no inline script). Its scripts and style live under
// /assets/<version>/, a hash of the files' contents, cached for good by the browser; every
// module a page imports is announced up front (modulepreload), so they load side by side,
// not one after another. bench/dashboard.mjs measures what this saves.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type Koa from "koa";
import serveStatic from "koa-static";

/** Where the versioned assets live: /assets/<version>/<file>. */
const ASSETS = "/assets/";
/** A year: the version changes with any file's contents, so the browser never needs to ask again. */
const FOREVER_MS = 365 * 24 * 3600 * 1000;

/** JSON that stays data inside <script>: no "</script>", "<!--" or line separator can end or bend it. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value ?? null).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The pages of the dashboard's folder, ready to render with their data. */
export class DashboardPages {
  /** A hash of every file in the folder: changes whenever one of them does. */
  readonly version: string;
  private readonly pages = new Map<string, string>();
  private readonly assets: Koa.Middleware;

  constructor(private readonly dir: string) {
    const files = readdirSync(dir).sort();
    const hash = createHash("sha256");
    for (const file of files) hash.update(file).update(readFileSync(join(dir, file)));
    this.version = hash.digest("hex").slice(0, 12);
    for (const file of files.filter((f) => f.endsWith(".html")))
      this.pages.set(file, this.prepare(readFileSync(join(dir, file), "utf8")));
    this.assets = serveStatic(dir, { maxage: FOREVER_MS, immutable: true, index: false });
  }

  /** The page with its data (undefined: none, the page fetches it) and the same-site URLs its scripts will fetch at once (loaded from the start). */
  render(file: string, data?: unknown, fetches: string[] = []): string {
    const page = this.pages.get(file);
    if (page === undefined) throw new Error(`no dashboard page ${file}`);
    const preloads = fetches.map((url) => `<link rel="preload" as="fetch" crossorigin href="${encodeURI(url)}">\n`);
    const block =
      data === undefined ? "" : `<script type="application/json" id="initial-data">${embedJson(data)}</script>\n`;
    return page.replace("<!--initial-data-->", () => preloads.join("") + block);
  }

  /** Serves /assets/<this version>/<file>; another version is a page that no longer exists (404 further on). */
  serveAssets(): Koa.Middleware {
    return async (ctx, next) => {
      const prefix = `${ASSETS}${this.version}/`;
      if (!ctx.path.startsWith(prefix)) return next();
      ctx.path = `/${ctx.path.slice(prefix.length)}`;
      return this.assets(ctx, next);
    };
  }

  /** Points the page's script and style at their versioned copies, announces the modules it imports, and marks where its data goes. */
  private prepare(html: string): string {
    const at = (file: string) => `${ASSETS}${this.version}/${file}`;
    return html
      .replace(/<link rel="stylesheet" href="\/([\w-]+\.css)">/g, (_, file: string) => {
        return `<link rel="stylesheet" href="${at(file)}">`;
      })
      .replace(/<script type="module" src="\/([\w-]+\.js)"><\/script>/g, (_, file: string) => {
        const preloads = this.imports(file).map((dep) => `<link rel="modulepreload" href="${at(dep)}">\n`);
        return `${preloads.join("")}<!--initial-data--><script type="module" src="${at(file)}"></script>`;
      });
  }

  /** The modules a module imports, directly or not (its `import ... from "./x.js"` lines). */
  private imports(file: string, seen = new Set<string>()): string[] {
    const source = readFileSync(join(this.dir, file), "utf8");
    for (const [, dep] of source.matchAll(/^import [^;]*? from "\.\/([\w-]+\.js)";/gms))
      if (!seen.has(dep!)) {
        seen.add(dep!);
        this.imports(dep!, seen);
      }
    return [...seen];
  }
}
