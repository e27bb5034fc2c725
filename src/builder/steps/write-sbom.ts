import { createHash } from "node:crypto";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuildStep } from "../context.js";
import type { InventoryCollected, SbomWritten } from "../values.js";
import { TSIMG_VERSION } from "../../core/version.js";

/**
 * Writes `<vm_name>.cdx.json` (the disk extension dropped: tinyos.qcow2 -> tinyos.cdx.json)
 * next to the artifact, from the inventory: complete under its final name or not at all.
 */
export const writeSbom: BuildStep<Partial<InventoryCollected>, Partial<SbomWritten>> = {
  name: "write-sbom",
  title: "Writing the SBOM...",
  async run(ctx, input) {
    if (!input.inventory) return {};
    const { plan, options } = ctx.build;
    const { output_directory, vm_name } = plan.source;
    // Loaded here, not with tsimg (the CycloneDX library takes ~0.15 s): validate and inspect never need it.
    const { renderSbom } = await import("../../inventory/sbom.js");
    const text = renderSbom(input.inventory, {
      name: plan.image.name,
      ...(plan.image.version ? { version: String(plan.image.version) } : {}),
      timestamp: options.startTime,
      runUuid: options.runUuid,
      tsimgVersion: TSIMG_VERSION,
    });
    const path = join(output_directory, `${sbomStem(vm_name)}.cdx.json`);
    await writeFile(`${path}.partial`, text);
    await rename(`${path}.partial`, path);
    const sha256 = createHash("sha256").update(text).digest("hex");
    ctx.events.info(`SBOM: ${path} (CycloneDX 1.6, ${input.inventory.packages.length} packages)`);
    return { sbom: { path, sha256 } };
  },
};

/** vm_name without a disk image extension. */
export function sbomStem(vmName: string): string {
  return vmName.replace(/\.(qcow2|raw|img)$/, "");
}
