// What the qemu builder's steps share. Each field is set by one step (named beside it)
// and read by later ones; the compiler checks the types, not a string-keyed bag.
import type { SshSession } from "../communicator/ssh.js";
import type { Artifact } from "../postprocessors/artifact.js";
import type { RunningHttpServer } from "../http/server.js";
import type { QemuProcess } from "../qemu/process.js";
import type { QmpClient } from "../qemu/qmp.js";
import type { SerialFollower } from "../qemu/serial.js";
import type { BaseImage } from "./disk-artifact.js";
import type { SerialLog } from "./serial-log.js";
import type { TempKey } from "./ssh-connect.js";
import type { BuildPlan } from "./plan.js";

export interface BuildOptions {
  /** Replace an existing output_directory. */
  force: boolean;
  /** Keep output_directory (and the stopped VM's disk) when the build fails. */
  keepOnError: boolean;
  /** One per `tsimg build` run, shared by its parallel builds (Packer's PACKER_RUN_UUID). */
  runUuid: string;
  /** When the build started, ms since the epoch. */
  startTime: number;
  /** Where downloads and verification records are kept (TSIMG_CACHE_DIR). */
  cacheDir: string;
}

export interface QemuBuildState {
  plan: BuildPlan;
  options: BuildOptions;
  /** Aborts the build with a reason; used when QEMU dies on its own. */
  fail: (error: Error) => void;
  /** fetch-iso: the ISO (or base disk) to use: a local file or the cache's verified download. */
  isoPath?: string;
  /** fetch-iso: the ISO's sha256 (hex), when it was computed. */
  isoSha256?: string;
  /** prepare-output: output_directory once it is this build's, and the top-most directory it created (absent when it was given an empty one). */
  output?: { dir: string; created?: string };
  /** prepare-output: private temp dir for the QMP socket. */
  workDir?: string;
  /** prepare-output: the disk while it is being built (not the artifact's name). */
  diskPath?: string;
  /** create-disk: disk_additional_size disks while they are being built, in order. */
  additionalDisks?: string[];
  /** create-disk: the base image of a disk_image build (lineage for the manifest). */
  baseImage?: BaseImage;
  /** create-cd: the cd_files/cd_content CD. */
  seedCdPath?: string;
  /** create-floppy: the floppy_files/floppy_content floppy. */
  floppyPath?: string;
  /** create-efivars: the build's copy of the OVMF variable store. */
  efiVarsPath?: string;
  /** start-tpm: swtpm and the socket QEMU talks to it through. */
  tpm?: QemuProcess;
  tpmSocket?: string;
  /** ssh-key: the temporary key pair, when neither ssh_password nor ssh_private_key_file is set. */
  tempKey?: TempKey;
  /** http-server */
  http?: RunningHttpServer;
  /** start-qemu */
  accelerator?: string;
  sshHostPort?: number;
  qemu?: QemuProcess;
  qmp?: QmpClient;
  serial?: SerialFollower;
  /** start-qemu: output_directory/serial.log, the console with secrets masked (absent when qemuargs has its own -serial). */
  serialLog?: SerialLog;
  /** start-qemu cleanup: PNG of the console when the build failed while QEMU ran. */
  failureScreenshot?: string;
  /** start-qemu: how many times the guest has reset (rebooted), from QMP RESET events. */
  resets?: number;
  /** Set before tsimg asks the guest to power off, so QEMU's exit is not a failure. */
  expectingExit?: boolean;
  /** wait-ssh */
  ssh?: SshSession;
  /** compact: the finished artifact. */
  artifactPath?: string;
  /** compact: the finished disk_additional_size disks. */
  additionalArtifacts?: string[];
  /** post-process: files the chains created outside output_directory (a failed build removes them). */
  outsideFiles?: string[];
  /** post-process: the artifacts the build leaves (the kept disk, then each chain's last). */
  artifacts?: Artifact[];
}

/** {{ .HTTPIP }} and friends, as far as they are known in this state. */
export function runtimeValues(state: QemuBuildState): Record<string, string> {
  const values: Record<string, string> = { Name: state.plan.source.vm_name, OutputDir: state.plan.source.output_directory, HTTPIP: "10.0.2.2" };
  if (state.http) values.HTTPPort = String(state.http.port);
  if (state.sshHostPort !== undefined) values.SSHHostPort = String(state.sshHostPort);
  if (state.tempKey) values.SSHPublicKey = state.tempKey.publicKey;
  return values;
}
