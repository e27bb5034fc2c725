// The file provisioner: uploads files, directories or inline content over SFTP with
// Packer's trailing-slash rules, or downloads from the guest (direction = "download").
import { stat } from "node:fs/promises";
import { basename, posix } from "node:path";
import type { FileProvisionerConfig } from "./options.js";
import type { ProvisionContext, ProvisionResult } from "./provisioner.js";

export async function runFile(config: FileProvisionerConfig, ctx: ProvisionContext): Promise<ProvisionResult> {
  if (config.direction === "download") {
    ctx.events.info(`downloading ${config.source} => ${config.destination}`);
    await ctx.ssh.download(config.source!, config.destination);
    return { disconnected: false };
  }
  if (config.content !== undefined) {
    ctx.events.info(`writing content (${Buffer.byteLength(config.content)} bytes) => ${config.destination}`);
    await ctx.ssh.writeFile(config.destination, config.content);
    return { disconnected: false };
  }
  for (const source of config.sources ?? [config.source!]) await upload(source, config.destination, ctx);
  return { disconnected: false };
}

/**
 * A directory source "dir/" uploads its contents into destination; "dir" (no slash)
 * uploads the directory itself into destination. A file goes to destination, or into it
 * when destination ends with "/".
 */
async function upload(source: string, destination: string, ctx: ProvisionContext): Promise<void> {
  const info = await stat(source);
  let remote = destination;
  if (info.isDirectory() && !source.endsWith("/")) remote = posix.join(remote, basename(source));
  if (!info.isDirectory() && remote.endsWith("/")) remote = posix.join(remote, basename(source));
  ctx.events.info(`uploading ${source} => ${remote}`);
  await ctx.ssh.upload(source.replace(/\/$/, ""), remote);
}
