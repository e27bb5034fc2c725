// `[source]` options of the HTTP server the guest fetches its kickstart from, the config type
// derived from them, and the checks a table cannot express.
import { checkMinMax, isDirectory, type Problem } from "../core/check-options.js";
import { PORT, type ConfigOf, type OptionTable } from "../core/options.js";

/** `[source]`: the HTTP server the guest fetches its kickstart from. */
export const HTTP_OPTIONS = {
  http_directory: {
    type: "path",
    doc: "Directory served over HTTP to the guest, relative to the template.",
    packer: "`http_directory`",
  },
  http_content: {
    type: "table",
    doc: 'URL path -> content served over HTTP, e.g. `"/ks/x.ks" = "${file(\\"../kickstart/x.ks\\")}"`. Cannot be combined with `http_directory`.',
    packer: "`http_content`",
  },
  http_bind_address: {
    type: "string",
    default: "127.0.0.1",
    doc: "Address the HTTP server binds. The guest reaches the host's loopback as 10.0.2.2, so the kickstart never leaves the machine.",
    packer: "`http_bind_address` (Packer's default 0.0.0.0 serves the kickstart, and its passwords, to the whole LAN)",
  },
  http_port_min: {
    type: "integer",
    ...PORT,
    default: 8000,
    doc: "Lowest port for the HTTP server (1 to 65535, and not above `http_port_max`).",
    packer: "`http_port_min`",
  },
  http_port_max: {
    type: "integer",
    ...PORT,
    default: 9000,
    doc: "Highest port for the HTTP server (1 to 65535).",
    packer: "`http_port_max`",
  },
} as const satisfies OptionTable;

export type HttpConfig = ConfigOf<typeof HTTP_OPTIONS>;

/** http_directory or http_content (not both); the directory must exist. `raw` is [source] as written. */
export function checkHttp(source: HttpConfig, raw: Record<string, unknown>, problems: Problem[]): void {
  if (raw.http_directory !== undefined && raw.http_content !== undefined) {
    problems.push({
      path: ["source", "http_content"],
      message: "http_directory and http_content cannot both be set: pick one",
    });
  }
  if (source.http_directory && !isDirectory(source.http_directory)) {
    problems.push({
      path: ["source", "http_directory"],
      message: `http_directory: no such directory ${source.http_directory}`,
    });
  }
}

/** http_port_min is not above http_port_max. */
export function checkHttpPorts(source: HttpConfig, problems: Problem[]): void {
  checkMinMax(source, [["http_port_min", "http_port_max"]], "source", problems);
}
