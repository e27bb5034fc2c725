// The boot test's VM: the finished disk behind a throwaway qcow2 overlay, started the way
// a user would start it (no ISO, no boot command, no HTTP server), and how to log in to it:
// the template's password or key file, the build's temporary key while the image still
// trusts it, or a fresh NoCloud seed carrying a new temporary key.
import { randomUUID } from "node:crypto";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { makeSeedCd } from "../sources/seed-media.js";
import { buildQemuArgv } from "../qemu/argv.js";
import { startQemu, type QemuProcess } from "../qemu/process.js";
import { createDisk } from "../qemu/qemu-img.js";
import { SerialFollower } from "../qemu/serial.js";
import { findFreePort } from "../util/ports.js";
import type { SourceConfig } from "./plan.js";
import type { TempKey } from "./ssh-connect.js";

/** How the boot test logs in; undefined `key` with no password: the template's key file. */
export interface BootTestLogin {
  tempKey?: TempKey;
  /** Why this way, for the log. */
  how: string;
  /** A NoCloud seed CD to attach. */
  seedCd?: string;
}

/** True when the build's CD is a cloud-init NoCloud seed (label cidata, or a user-data file). */
export function hasNoCloudSeed(source: SourceConfig): boolean {
  return /^cidata$/i.test(source.cd_label ?? "") || Object.keys(source.cd_content ?? {}).includes("user-data");
}

/** Chooses the login; undefined when the image keeps no way in that tsimg holds. */
export async function chooseLogin(
  source: SourceConfig,
  buildKey: TempKey | undefined,
  workDir: string,
  signal: AbortSignal,
): Promise<BootTestLogin | undefined> {
  if (source.ssh_password !== undefined) return { how: "the template's ssh_password" };
  if (source.ssh_private_key_file) return { how: "the template's ssh_private_key_file" };
  if (hasNoCloudSeed(source)) {
    const { default: ssh2 } = await import("ssh2");
    const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment: "tsimg-boot-test" });
    const tempKey = { privateKey: pair.private, publicKey: pair.public.trim() };
    const seedCd = join(workDir, "boot-test-seed.iso");
    await makeSeedCd({
      files: [],
      content: {
        // A new instance-id: cloud-init applies per-instance settings (the keys) again.
        "meta-data": `instance-id: tsimg-boot-test-${randomUUID()}\n`,
        "user-data": `#cloud-config\ndisable_root: false\nssh_authorized_keys:\n  - ${tempKey.publicKey}\n`,
      },
      label: "cidata",
      dest: seedCd,
      workDir,
      signal,
    });
    return { tempKey, seedCd, how: "a fresh NoCloud seed with a new temporary key" };
  }
  if (buildKey && !source.ssh_clear_authorized_keys) return { tempKey: buildKey, how: "the build's temporary key" };
  return undefined;
}

/** A started boot-test VM and what to remove afterwards. */
export interface BootTestVm {
  qemu: QemuProcess;
  serial: SerialFollower;
  sshHostPort: number;
}

/** Puts an overlay on each finished disk and starts QEMU on them. */
export async function startBootTestVm(options: {
  source: SourceConfig;
  accelerator: string;
  workDir: string;
  disks: string[];
  efiVarsPath?: string | undefined;
  seedCd?: string | undefined;
  onOutput: (line: string) => void;
}): Promise<BootTestVm> {
  const { source, workDir } = options;
  const overlays: string[] = [];
  for (const [i, disk] of options.disks.entries()) {
    const overlay = join(workDir, `boot-test-${i}.qcow2`);
    await createDisk(overlay, "qcow2", "", [
      "-b",
      disk,
      "-F",
      i === 0 && source.use_backing_file ? "qcow2" : source.format,
    ]);
    overlays.push(overlay);
  }
  // The image keeps its own UEFI variables (or none, with efi_drop_efivars): a copy, as the overlay is.
  let efiVarsPath: string | undefined;
  if (source.efi_boot) {
    efiVarsPath = join(workDir, "boot-test-efivars.fd");
    await copyFile(options.efiVarsPath ?? source.efi_firmware_vars, efiVarsPath);
  }
  const sshHostPort = await findFreePort(
    source.host_port_min,
    source.host_port_max,
    "127.0.0.1",
    "the boot test's SSH port forward",
  );
  const serialPath = join(workDir, "boot-test-serial.raw");
  const argv = buildQemuArgv({
    // Not the build's qemuargs: their -drive, -boot and -cdrom switches point at the installer's media.
    // The disks QEMU opens are the qcow2 overlays, whatever format the artifact has.
    source: { ...source, format: "qcow2", vm_name: `${source.vm_name}-boot-test` },
    accelerator: options.accelerator,
    diskPath: overlays[0]!,
    additionalDisks: overlays.slice(1),
    ...(options.seedCd ? { seedCdPath: options.seedCd } : {}),
    ...(efiVarsPath ? { efiVarsPath } : {}),
    sshHostPort,
    qmpSocket: join(workDir, "boot-test-qmp.sock"),
    serialLog: serialPath,
    window: false,
    userArgs: [],
    appendArgs: [],
  });
  const serial = new SerialFollower(argv.serialPath ?? serialPath, () => undefined);
  serial.start();
  const qemu = startQemu({ binary: source.qemu_binary, args: argv.args, onOutput: options.onOutput });
  return { qemu, serial, sshHostPort };
}
