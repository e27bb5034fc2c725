// What the qemu builder's steps produce, one interface per step. A step's input is made of
// these (the pipeline checks that an earlier step produced each), so they live here and not
// in the step files: no step imports another.
import type { SshSession } from "../communicator/ssh.js";
import type { Inventory } from "../inventory/types.js";
import type { RunningHttpServer } from "../http/server.js";
import type { Artifact } from "../postprocessors/artifact.js";
import type { QemuProcess } from "../qemu/process.js";
import type { QmpClient } from "../qemu/qmp.js";
import type { SerialFollower } from "../qemu/serial.js";
import type { BaseImage } from "./disk-artifact.js";
import type { SerialLog } from "./serial-log.js";
import type { TempKey } from "./ssh-connect.js";
import type { LayerRun } from "./layers.js";

/** fetch-iso: the ISO (or base disk) to use: a local file or the cache's verified download. */
export interface FetchedIso {
  isoPath: string;
  /** The ISO's sha256 (hex), when it was computed. */
  isoSha256?: string | undefined;
}

/** ssh-key: the temporary key pair, when neither ssh_password nor ssh_private_key_file is set. */
export interface SshKeyMade {
  tempKey: TempKey;
}

/** prepare-output */
export interface PreparedOutput {
  /** output_directory once it is this build's, and the top-most directory it created (absent when it was given an empty one). */
  output: { dir: string; created?: string };
  /** Private temp dir for the QMP socket, the raw serial log, seed media. */
  workDir: string;
  /** The disk while it is being built (not the artifact's name). */
  diskPath: string;
}

/** create-disk */
export interface CreatedDisks {
  /** disk_additional_size disks while they are being built, in order. */
  additionalDisks: string[];
  /** The base image of a disk_image build (lineage for the manifest). */
  baseImage?: BaseImage | undefined;
}

/** create-efivars: the build's copy of the OVMF variable store. */
export interface EfiVars {
  efiVarsPath: string;
}

/** http-server */
export interface HttpServing {
  http: RunningHttpServer;
}

/** create-cd: the cd_files/cd_content CD. */
export interface SeedCd {
  seedCdPath: string;
}

/** create-floppy: the floppy_files/floppy_content floppy. */
export interface SeedFloppy {
  floppyPath: string;
}

/** start-tpm: swtpm and the socket QEMU talks to it through. */
export interface TpmStarted {
  tpm: QemuProcess;
  tpmSocket: string;
}

/** What later steps change about the running guest; start-qemu's exit watcher and cleanup read it. */
export interface GuestState {
  /** How many times the guest has reset (rebooted), from QMP RESET events. */
  resets: number;
  /** Set before tsimg asks the guest to power off, so QEMU's exit is not a failure. */
  expectingExit: boolean;
}

/** start-qemu */
export interface VmStarted {
  accelerator: string;
  sshHostPort: number;
  guest: GuestState;
  qemu: QemuProcess;
  qmp: QmpClient;
  serial?: SerialFollower | undefined;
  /** output_directory/serial.log, the console with secrets masked (absent when qemuargs has its own -serial). */
  serialLog?: SerialLog | undefined;
}

/** The SSH session to the guest; provision reconnects it and shutdown closes it, wait-ssh's cleanup closes what is left. */
export interface SshLink {
  session?: SshSession | undefined;
}

/** wait-ssh */
export interface SshConnected {
  ssh: SshLink;
}

/** compact */
export interface CompactedDisks {
  /** The finished artifact. */
  artifactPath: string;
  /** The finished disk_additional_size disks. */
  additionalArtifacts: string[];
}

/** post-process */
export interface PostProcessed {
  /** Files the chains created outside output_directory (a failed build removes them). */
  outsideFiles: string[];
  /** The artifacts the build leaves (the kept disk, then each chain's last). */
  artifacts: Artifact[];
}

/** inventory: what the image holds, collected before shutdown. */
export interface InventoryCollected {
  inventory: Inventory;
}

/** write-sbom: the CycloneDX file next to the artifact. */
export interface SbomWritten {
  sbom: { path: string; sha256: string };
}

/** layer-cache: the build's layers, when it uses the layer cache. */
export interface LayersPlanned {
  layers: LayerRun;
}
