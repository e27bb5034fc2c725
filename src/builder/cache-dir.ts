// Where a build keeps ISO downloads and their verification records when the caller names no place.
import { homedir } from "node:os";
import { join } from "node:path";
import { defaultCacheDir } from "../sources/iso.js";

/** TSIMG_CACHE_DIR or the XDG default, for builds that do not name one. */
export function cacheDirFromEnvironment(): string {
  return defaultCacheDir(process.env, homedir());
}

/** The layer cache of builds whose template names no layer_cache_dir: `layers` in the download cache. */
export function layerCacheDirFromEnvironment(): string {
  return join(cacheDirFromEnvironment(), "layers");
}
