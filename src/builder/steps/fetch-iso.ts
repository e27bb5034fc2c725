import { fetchIso as fetch } from "../../sources/iso.js";
import { resolvePath } from "../../core/check-options.js";
import type { BuildStep } from "../context.js";
import type { FetchedIso } from "../values.js";

/**
 * Settles the ISO (or, with disk_image, the base disk): the first of iso_url / iso_urls that
 * exists locally or downloads into the cache, verified against iso_checksum before anything
 * else is created. A template naming only local files makes no network request.
 */
export const fetchIso: BuildStep<object, FetchedIso> = {
  name: "fetch-iso",
  title: "Fetching and verifying the ISO...",
  async run(ctx) {
    const { source, templateDir, postProcessors } = ctx.build.plan;
    const fetched = await fetch({
      sources: source.iso_urls ?? [source.iso_url],
      checksum: source.iso_checksum,
      resolveLocal: (path) => resolvePath(path, templateDir),
      cacheDir: ctx.build.options.cacheDir,
      // The manifest records the ISO's sha256; lineage needs it for a base disk too.
      alsoHash: postProcessors.length > 0 || source.disk_image || source.layer_cache ? ["sha256"] : [],
      signal: ctx.signal,
      events: ctx.events,
    });
    return { isoPath: fetched.path, ...(fetched.digests.sha256 ? { isoSha256: fetched.digests.sha256 } : {}) };
  },
};
