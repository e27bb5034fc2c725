// `[[provisioner]]` options of each type (shell, file, shell-local) and the config types
// derived from them. Their checks are in check-options.ts.
import type { ConfigOf, OptionTable } from "../core/options.js";
import { LOCAL_SCRIPT_OPTIONS } from "../util/run-local.js";

/** Options every `[[provisioner]]` takes, whatever its type. */
export const PROVISIONER_COMMON_OPTIONS = {
  pause_before: {
    type: "duration",
    default: "0s",
    doc: "Wait this long before running the provisioner.",
    packer: "`pause_before`",
  },
  pause_after: {
    type: "duration",
    default: "0s",
    doc: "Wait this long after the provisioner succeeded (before its layer is saved), for a guest that needs time to settle.",
    packer: "`pause_after`",
  },
  max_retries: {
    type: "integer",
    min: 0,
    default: 0,
    doc: "Run the provisioner again, up to this many more times, when it fails (not when the build is cancelled). Each retry is logged with the failure.",
    packer: "`max_retries`",
  },
  timeout: {
    type: "duration",
    default: "0s",
    doc: "Fail the provisioner (or that attempt of it) when it runs longer than this; 0: no limit.",
    packer: "`timeout`",
  },
  only: {
    type: "string[]",
    doc: "Run only in these builds: the image's name (or Packer's `qemu.<name>`). Absent: every build.",
    packer: "`only`",
  },
  except: { type: "string[]", doc: "Skip in these builds (same names as `only`).", packer: "`except`" },
  cache: {
    type: "boolean",
    default: true,
    doc: "Keep the state after this provisioner in the layer cache, so a later build can continue from it (docs/cache.md). `false` for a provisioner whose result depends on more than its inputs (a `dnf update`): it and every provisioner after it always run.",
    packer: "none (Packer has no layer cache)",
  },
} as const satisfies OptionTable;

/** `[[provisioner]]` with `type = "shell"`. */
export const SHELL_OPTIONS = {
  type: { type: "string", required: true, doc: "`shell`.", packer: '`provisioner "shell"`' },
  inline: {
    type: "string[]",
    doc: "Commands run in one script (`inline_shebang` first). Exactly one of `inline`, `script`, `scripts`.",
    packer: "`inline`",
  },
  inline_shebang: {
    type: "string",
    default: "/bin/sh -e",
    doc: "Shebang of the script made from `inline`.",
    packer: "`inline_shebang`",
  },
  script: { type: "path", doc: "A local script, relative to the template, uploaded and run.", packer: "`script`" },
  scripts: { type: "path[]", doc: "Several scripts, run in order.", packer: "`scripts`" },
  environment_vars: {
    type: "string[]",
    default: [],
    doc: "`KEY=value` pairs set for the script. `{{ .HTTPIP }}` and friends are filled in.",
    packer: "`environment_vars`",
  },
  execute_command: {
    type: "string",
    default: "chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}",
    doc: "How the uploaded script is run; `{{ .Path }}` is its remote path, `{{ .Vars }}` the environment assignments.",
    packer: "`execute_command`",
  },
  remote_folder: { type: "string", default: "/tmp", doc: "Where scripts are uploaded.", packer: "`remote_folder`" },
  valid_exit_codes: {
    type: "integer[]",
    default: [0],
    doc: "Exit codes that count as success.",
    packer: "`valid_exit_codes`",
  },
  expect_disconnect: {
    type: "boolean",
    default: false,
    doc: "The script may take the connection down (a reboot, an sshd restart): that is not a failure. After such a script tsimg ends the SSH session, waits up to 15 s for QEMU to report the guest's reboot, then waits for SSH again, so the next provisioner runs on the new boot, never on the dying one.",
    packer: "`expect_disconnect`",
  },
  ...PROVISIONER_COMMON_OPTIONS,
} as const satisfies OptionTable;

/** `[[provisioner]]` with `type = "file"`. */
export const FILE_OPTIONS = {
  type: { type: "string", required: true, doc: "`file`.", packer: '`provisioner "file"`' },
  source: {
    type: "string",
    doc: "Upload: a local file or directory, relative to the template; a directory with a trailing `/` uploads its contents, without it the directory itself. Download: the remote path. Exactly one of `source`, `sources`, `content`.",
    packer: "`source`",
  },
  sources: {
    type: "path[]",
    doc: "Several local files or directories uploaded into `destination` (which should end with `/`).",
    packer: "`sources`",
  },
  content: {
    type: "string",
    doc: "Text written to `destination` on the guest, instead of a local file.",
    packer: "`content`",
  },
  destination: {
    type: "string",
    required: true,
    doc: "Where it goes. Upload: the remote path (ending with `/`: into that directory, made if missing). Download: the local path, relative to the template.",
    packer: "`destination` (a download's local path is relative to the template, not the current directory)",
  },
  direction: {
    type: { enum: ["upload", "download"] },
    default: "upload",
    doc: "`download` copies `source` from the guest (a file or a whole directory) to `destination` on the host.",
    packer: "`direction`",
  },
  generated: {
    type: "boolean",
    default: false,
    doc: "The local source is made during the build (e.g. by a shell-local step): do not check that it exists when the template is loaded.",
    packer: "`generated`",
  },
  ...PROVISIONER_COMMON_OPTIONS,
} as const satisfies OptionTable;

/** `[[provisioner]]` with `type = "shell-local"`: runs on the build host, not in the guest. */
export const SHELL_LOCAL_PROVISIONER_OPTIONS = {
  type: { type: "string", required: true, doc: "`shell-local`.", packer: '`provisioner "shell-local"`' },
  ...LOCAL_SCRIPT_OPTIONS,
  environment_vars: {
    type: "string[]",
    default: [],
    doc: "`KEY=value` pairs added to the environment, which also has `PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE=qemu`, `PACKER_HTTP_ADDR`, `TSIMG_BUILD_NAME` and `TSIMG_SSH_HOST_PORT` (the guest's SSH, forwarded to 127.0.0.1). The scripts run in the template's directory.",
    packer: "`environment_vars` (Packer runs them in the current directory)",
  },
  ...PROVISIONER_COMMON_OPTIONS,
} as const satisfies OptionTable;

/** Option table of each provisioner type, in the order the reference lists them. */
export const PROVISIONER_TABLES = {
  shell: SHELL_OPTIONS,
  file: FILE_OPTIONS,
  "shell-local": SHELL_LOCAL_PROVISIONER_OPTIONS,
} as const satisfies Record<string, OptionTable>;

/** What the reference says of a type besides its table. */
export const PROVISIONER_INTROS: Record<string, string> = {
  shell:
    "Scripts also get `PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE=qemu`, `PACKER_HTTP_ADDR` and `TSIMG_BUILD_NAME` in their environment.",
  "shell-local": "Runs on the build host, in the template's directory, between the guest's provisioners.",
};

/** What every provisioner takes (durations in ms). */
export type ProvisionerCommon = ConfigOf<typeof PROVISIONER_COMMON_OPTIONS>;
export type ShellProvisionerConfig = ConfigOf<typeof SHELL_OPTIONS, { type: "shell" }>;
/** `source`: for an upload, the absolute local path (a trailing "/" kept); for a download, the remote path as written. */
export type FileProvisionerConfig = ConfigOf<typeof FILE_OPTIONS, { type: "file" }>;
export type ShellLocalProvisionerConfig = ConfigOf<typeof SHELL_LOCAL_PROVISIONER_OPTIONS, { type: "shell-local" }>;
export type ProvisionerConfig = ShellProvisionerConfig | FileProvisionerConfig | ShellLocalProvisionerConfig;
