// What every step of a build can reach besides its input: the plan, the build's options,
// how to fail the build from outside a step, and the VM's console. These belong to the
// build, not to any step's output.
import type { Step, StepContext } from "../core/runner.js";
import type { BuildValueName } from "../core/runtime-vars.js";
import type { RunningHttpServer } from "../http/server.js";
import type { BuildPlan } from "./plan.js";
import type { VmConsole } from "./screenshot.js";
import type { TempKey } from "./ssh-connect.js";

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
  /** The layer cache: used unless --no-cache; --resume insists on a cached layer; dir overrides layer_cache_dir. */
  layers: { enabled: boolean; resume: boolean; dir?: string | undefined };
}

/** The build a step runs in. */
export interface BuildContext {
  readonly plan: BuildPlan;
  /** keepOnError may change while the build runs (--on-error=ask, answered "abort"). */
  readonly options: BuildOptions;
  /** Aborts the build with a reason; used when QEMU dies on its own. */
  fail(error: Error): void;
  /** The VM's console: start-qemu attaches it, startBuild().screenshot() reads it. */
  readonly console: VmConsole;
}

/** What a qemu builder step gets: the runner's signal and events, and its build. */
export interface BuildStepContext extends StepContext {
  readonly build: BuildContext;
}

/** A step of the qemu builder: reads `In`, produces `Out`. */
export type BuildStep<In, Out = void> = Step<In, Out, BuildStepContext>;

/** The values {{ .HTTPPort }} and friends come from, as far as the steps so far produced them. */
export interface RuntimeInputs {
  http?: RunningHttpServer | undefined;
  sshHostPort?: number | undefined;
  tempKey?: TempKey | undefined;
}

/** {{ .HTTPIP }} and friends, as far as they are known. */
export function runtimeValues(plan: BuildPlan, known: RuntimeInputs): Record<string, string> {
  const values: Record<string, string> = {
    Name: plan.source.vm_name,
    OutputDir: plan.source.output_directory,
    HTTPIP: "10.0.2.2",
  };
  if (known.http) values.HTTPPort = String(known.http.port);
  if (known.sshHostPort !== undefined) values.SSHHostPort = String(known.sshHostPort);
  if (known.tempKey) values.SSHPublicKey = known.tempKey.publicKey;
  return values;
}

/** Packer's build variables ({{ build `Host` }}, ${build.Host}) for provisioners and post-processors. */
export function buildValues(plan: BuildPlan, runUuid: string, known: RuntimeInputs): Record<BuildValueName, string> {
  const httpPort = known.http ? String(known.http.port) : "";
  return {
    ID: plan.source.vm_name,
    Host: "127.0.0.1",
    Port: known.sshHostPort === undefined ? "" : String(known.sshHostPort),
    User: plan.source.ssh_username ?? "",
    Password: plan.source.ssh_password ?? "",
    ConnType: plan.source.communicator,
    PackerRunUUID: runUuid,
    PackerHTTPIP: "10.0.2.2",
    PackerHTTPPort: httpPort,
    PackerHTTPAddr: httpPort ? `10.0.2.2:${httpPort}` : "",
    SSHPublicKey: known.tempKey?.publicKey ?? "",
  };
}
