// The provisioner interface: given a connected communicator and its config, do the work
// and report through events. It throws on failure; the runner reports.
import type { SshSession } from "../communicator/ssh.js";
import type { EventBus } from "../core/event-bus.js";

export interface ProvisionContext {
  ssh: SshSession;
  events: EventBus;
  signal: AbortSignal;
  /** {{ .HTTPIP }}, {{ .Name }} ... for settings that allow them. */
  runtime: Record<string, string>;
  /** Environment every script gets (PACKER_BUILD_NAME, ...). */
  buildEnv: Record<string, string>;
  /** The template's directory: where shell-local scripts run. */
  templateDir: string;
}

export interface ProvisionResult {
  /** The guest dropped the connection (expected, e.g. a reboot); reconnect before going on. */
  disconnected: boolean;
}
