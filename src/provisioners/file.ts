// The file provisioner: uploads a file or directory over SFTP, with Packer's rules for
// trailing slashes.
import { stat } from "node:fs/promises";
import { basename, posix } from "node:path";
import type { FileProvisionerConfig } from "../template/types.js";
import type { ProvisionContext, ProvisionResult } from "./provisioner.js";

/**
 * A directory source "dir/" uploads its contents into destination; "dir" (no slash)
 * uploads the directory itself into destination. A file goes to destination, or into it
 * when destination ends with "/".
 */
export async function runFile(config: FileProvisionerConfig, ctx: ProvisionContext): Promise<ProvisionResult> {
  const info = await stat(config.source);
  let remote = config.destination;
  if (info.isDirectory() && !config.source.endsWith("/")) remote = posix.join(remote, basename(config.source));
  if (!info.isDirectory() && remote.endsWith("/")) remote = posix.join(remote, basename(config.source));
  ctx.events.info(`uploading ${config.source} => ${remote}`);
  await ctx.ssh.upload(config.source.replace(/\/$/, ""), remote);
  return { disconnected: false };
}
