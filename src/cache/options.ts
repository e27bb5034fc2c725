// `[source]` options of the layer cache (docs/cache.md).
import type { OptionTable } from "../core/options.js";

export const LAYER_CACHE_OPTIONS = {
  layer_cache: {
    type: "boolean",
    default: true,
    doc: "Keep the install and each provisioner's result as layers (qcow2 overlays) and continue a later build from the longest chain whose inputs did not change, so editing a provisioner does not reinstall the OS (docs/cache.md). The artifact is always flattened. `tsimg build --no-cache` ignores the cache for one run.",
    packer: "none (Packer reinstalls on every build)",
  },
  layer_cache_dir: {
    type: "path",
    defaultDoc: "`layers` in the download cache (`$TSIMG_CACHE_DIR`, default `~/.cache/tsimg/layers`)",
    doc: "Where layers are kept; shared safely by concurrent builds on this host. serve's builds ignore it and use their own cache (`$TSIMG_CACHE_DIR/layers` of the build sandbox), which retried builds share.",
    packer: "none",
  },
  layer_cache_size: {
    type: "size",
    default: "20G",
    doc: "Size limit of the layer cache: after each build the least recently used layers (with the layers built on them) are removed until it fits. Layers a running build uses are never removed.",
    packer: "none",
  },
} as const satisfies OptionTable;
