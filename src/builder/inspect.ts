// What a build would run, without running it: the QEMU command line with the run-time
// values (ports, temp paths) shown as placeholders. Used by `tsimg inspect`.
import { join } from "node:path";
import { buildQemuArgv } from "../qemu/argv.js";
import { renderRuntime } from "../core/runtime-vars.js";
import type { BuildPlan } from "./plan.js";

export interface QemuCommandPreview {
  binary: string;
  args: string[];
  /** One line per default that a qemuargs switch replaces. */
  replaced: string[];
  accelerator: string;
}

/** The QEMU argv a build of `plan` would start (ports and sockets as <placeholders>). */
export function previewQemuCommand(plan: BuildPlan): QemuCommandPreview {
  const source = plan.source;
  // "auto" is decided by a probe at build time; show what a working KVM host gets.
  const accelerator = source.accelerator === "auto" ? "kvm" : source.accelerator;
  const values = {
    Name: source.vm_name,
    OutputDir: source.output_directory,
    HTTPIP: "10.0.2.2",
    HTTPPort: "<http-port>",
    SSHHostPort: "<ssh-host-port>",
  };
  const argv = buildQemuArgv({
    source,
    accelerator,
    diskPath: join(source.output_directory, `.${source.vm_name}.building`),
    additionalDisks: source.disk_additional_size.map((_, i) =>
      join(source.output_directory, `.${source.vm_name}.building-${i + 1}`),
    ),
    ...(source.disk_image ? {} : { isoPath: source.iso_url }),
    ...(source.cd_files.length > 0 || source.cd_content ? { seedCdPath: "<tmp>/cd.iso" } : {}),
    ...(source.floppy_files.length > 0 || source.floppy_content ? { floppyPath: "<tmp>/floppy.img" } : {}),
    ...(source.vtpm ? { tpmSocket: "<tmp>/swtpm.sock" } : {}),
    ...(source.efi_boot ? { efiVarsPath: join(source.output_directory, "efivars.fd") } : {}),
    ...(source.vnc_bind_address ? { vncPort: "<vnc-display>" } : {}),
    sshHostPort: "<ssh-host-port>",
    qmpSocket: "<tmp>/qmp.sock",
    serialLog: join(source.output_directory, "serial.log"),
    window: !source.headless,
    userArgs: source.qemuargs.map((arg) => arg.map((part) => renderRuntime(part, values, "qemuargs"))),
    appendArgs: source.qemuargs_append.map((arg) => arg.map((part) => renderRuntime(part, values, "qemuargs_append"))),
  });
  return { binary: source.qemu_binary, args: argv.args, replaced: argv.replaced, accelerator };
}
