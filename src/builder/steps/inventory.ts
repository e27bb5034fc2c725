import { basename, posix } from "node:path";
import { collectInventory } from "../../inventory/collect.js";
import type { BuildStep } from "../context.js";
import type { BuildPlan } from "../plan.js";
import { connectSsh } from "../ssh-connect.js";
import type { InventoryCollected, SshConnected, SshKeyMade, VmStarted } from "../values.js";

type InventoryInput = SshConnected & Pick<VmStarted, "sshHostPort" | "qemu" | "serial"> & Partial<SshKeyMade>;

/**
 * Records what the image holds while the guest still runs: os-release, kernel, packages,
 * enabled services, users and groups, listening ports, and the hashes of uploaded files.
 * What cannot be collected is a warning with its reason; the build goes on.
 */
export const inventory: BuildStep<InventoryInput, InventoryCollected> = {
  name: "inventory",
  title: "Collecting the image's inventory...",
  async run(ctx, input) {
    const source = ctx.build.plan.source;
    const session = (input.ssh.session ??= await connectSsh(source, input, ctx.signal, (why) => ctx.events.info(why)));
    const collected = await collectInventory(session, uploadedPaths(ctx.build.plan));
    for (const warning of collected.warnings) ctx.events.warn(`inventory: ${warning}`);
    ctx.events.info(
      `inventory: ${collected.os.PRETTY_NAME ?? collected.os.ID ?? "unknown OS"}, kernel ${collected.kernel ?? "unknown"}, ` +
        `${collected.packages.length} packages, ${collected.services.length} services, ${collected.users.length} users, ` +
        `${collected.ports.length} listening ports, ${collected.files.length} uploaded files`,
    );
    return { inventory: collected };
  },
};

/** Where the file provisioners' uploads landed in the guest. */
function uploadedPaths(plan: BuildPlan): string[] {
  const paths = new Set<string>();
  for (const p of plan.provisioners) {
    if (p.type !== "file" || p.direction === "download") continue;
    const into = p.destination.endsWith("/");
    if (p.content !== undefined || !into) {
      paths.add(p.destination);
      continue;
    }
    for (const source of p.sources ?? [p.source!]) {
      // "dir/" uploads the directory's contents into the destination; "dir" or a file goes inside it.
      paths.add(source.endsWith("/") ? p.destination : posix.join(p.destination, basename(source)));
    }
  }
  return [...paths].sort();
}
