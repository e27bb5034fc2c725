import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, test, vi } from "vitest";
import { ConfigError, ConfigErrors } from "../../src/core/errors.js";
import { loadTemplate, type LoadOptions } from "../../src/builder/load-template.js";
import type { BuildPlan } from "../../src/builder/plan.js";

const root = mkdtempSync(join(tmpdir(), "tsimg-load-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

let count = 0;
/** A fresh directory with a dummy ISO and the given files; returns the template's path. */
function template(toml: string, files: Record<string, string> = {}, name = "tpl"): string {
  const dir = join(root, String(++count));
  mkdirSync(dir);
  writeFileSync(join(dir, "disk.iso"), "not really an ISO");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const path = join(dir, `${name}.toml`);
  writeFileSync(path, toml);
  return path;
}

const MINIMAL = `[source]
iso_url = "disk.iso"
iso_checksum = "none"
ssh_username = "root"
`;

/** What loadTemplate threw, as plain data, so a mismatch shows every field. */
function loadErrors(
  path: string,
  options: LoadOptions = {},
): { message: string; key?: string; line?: number; column?: number; file?: string }[] {
  try {
    loadTemplate(path, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigErrors);
    const errors = (error as ConfigErrors).errors;
    expect((error as ConfigErrors).message).toBe(`${errors.length} error${errors.length === 1 ? "" : "s"} in template`);
    return errors.map((e) => {
      expect(e).toBeInstanceOf(ConfigError);
      return {
        message: e.message,
        ...(e.key === undefined ? {} : { key: e.key }),
        ...(e.line === undefined ? {} : { line: e.line }),
        ...(e.column === undefined ? {} : { column: e.column }),
        ...(e.file === undefined ? {} : { file: e.file }),
      };
    });
  }
  throw new Error("loadTemplate did not throw");
}

function messages(path: string, options: LoadOptions = {}): string[] {
  return loadErrors(path, options).map((e) => e.message);
}

describe("loadTemplate: bytes that are not a sane template", () => {
  function bytesTemplate(bytes: Buffer): string {
    const dir = join(root, String(++count));
    mkdirSync(dir);
    writeFileSync(join(dir, "disk.iso"), "not really an ISO");
    writeFileSync(join(dir, "tpl.toml"), bytes);
    return join(dir, "tpl.toml");
  }
  const utf8Error = (line: number, column: number, byte: string) => ({
    message: `not UTF-8: byte ${byte} is not valid here (TOML files must be UTF-8: save the file as UTF-8)`,
    line,
    column,
  });

  test.each<[string, Buffer, ReturnType<typeof utf8Error>]>([
    [
      "a Latin-1 byte after multi-byte characters (columns count characters)",
      Buffer.concat([Buffer.from(`${MINIMAL}ssh_password = "ñé`), Buffer.from([0xe9]), Buffer.from('"\n')]),
      utf8Error(5, 19, "0xE9"),
    ],
    [
      "a lead byte without its continuation",
      Buffer.concat([Buffer.from("# caf"), Buffer.from([0xc3, 0x28]), Buffer.from(`\n${MINIMAL}`)]),
      utf8Error(1, 6, "0xC3"),
    ],
    [
      "a truncated character at the very end",
      Buffer.concat([Buffer.from(`${MINIMAL}# €`), Buffer.from([0xe2, 0x82])]),
      utf8Error(5, 4, "0xE2"),
    ],
    [
      "an encoded surrogate (CESU-8)",
      Buffer.concat([Buffer.from(`${MINIMAL}\n\n# `), Buffer.from([0xed, 0xa0, 0x80])]),
      utf8Error(7, 3, "0xED"),
    ],
  ])("refuses %s, naming the line and column", (_, bytes, expected) => {
    const path = bytesTemplate(bytes);
    expect(loadErrors(path)).toEqual([{ ...expected, file: path }]);
  });

  test("a UTF-8 byte order mark is not part of the text", () => {
    const path = bytesTemplate(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${MINIMAL}ssh_password = "café"\n`)]),
    );
    expect(loadTemplate(path).source.ssh_password).toBe("café");
  });

  test.each([
    ["lists", (n: number) => `${MINIMAL}qemuargs = ${"[".repeat(n)}${"]".repeat(n)}\n`, "source.qemuargs", 5],
    [
      "inline tables",
      (n: number) => `[image]\nname = "x"\nmeta = ${"{ a = ".repeat(n)}1${" }".repeat(n)}\n\n${MINIMAL}`,
      "image.meta.a",
      3,
    ],
    [
      "lists in an array of tables",
      (n: number) => `${MINIMAL}\n[[provisioner]]\ntype = "shell"\ninline = ${"[".repeat(n)}${"]".repeat(n)}\n`,
      "provisioner[0].inline",
      8,
    ],
  ])("refuses %s nested 5,000 deep with an error, not a crash", (_, text, key, line) => {
    const path = template(text(5000));
    expect(loadErrors(path)).toEqual([
      {
        message: `${key}: nested more than 32 levels deep (tables and lists); a template never needs that many`,
        key,
        line,
        column: 1,
        file: path,
      },
    ]);
  });

  test("a file read by ${file()} must be UTF-8 too, or the guest gets U+FFFD where the author wrote a byte", () => {
    const path = template(`${MINIMAL}ssh_password = "\${file(\\"pw.txt\\")}"\n`);
    writeFileSync(join(path, "..", "pw.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    expect(messages(path)).toEqual([
      'ssh_password: file("pw.txt"): not UTF-8: byte 0xE9 on line 1, column 4 (save the file as UTF-8)',
    ]);
  });

  test.each([
    [
      "is not UTF-8",
      Buffer.concat([Buffer.from('v = "caf'), Buffer.from([0xe9]), Buffer.from('"\n')]),
      "not UTF-8: byte 0xE9 on line 1, column 9 (save the file as UTF-8)",
    ],
    [
      "holds a number beyond 2^53",
      Buffer.from("v = 18446744073709551615\n"),
      "v: a whole number beyond 9007199254740991 (2^53 - 1, or below its negative); no option takes one that large",
    ],
    [
      "is nested 5,000 deep",
      Buffer.from(`v = ${"[".repeat(5000)}${"]".repeat(5000)}\n`),
      `v${".0".repeat(32)}: nested more than 32 levels deep (tables and lists); a template never needs that many`,
    ],
  ])("a --var-file that %s is refused, naming it", (_, bytes, message) => {
    const path = template(`[variables.v]\ntype = "number"\ndefault = "1"\n\n${MINIMAL}`);
    const varFile = join(path, "..", "vars.toml");
    writeFileSync(varFile, bytes);
    expect(messages(path, { varFiles: [varFile] })).toEqual([`--var-file ${varFile}: ${message}`]);
  });

  test("a .json --var-file is read as Packer's JSON var file; a non-object is refused", () => {
    const path = template(
      `[variables.v]\ndefault = "1"\n\n[variables.w]\ntype = "number"\ndefault = "1"\n\n${MINIMAL}`,
    );
    const varFile = join(path, "..", "vars.json");
    writeFileSync(varFile, '{"v": "from-json", "w": 4}');
    const plan = loadTemplate(path, { varFiles: [varFile], env: {} });
    expect(plan.variables.v?.value).toBe("from-json");
    expect(plan.variables.w?.value).toBe("4");
    writeFileSync(varFile, '["v"]');
    expect(messages(path, { varFiles: [varFile] })).toEqual([
      `--var-file ${varFile}: expected a JSON object of "name": value`,
    ]);
  });

  test("nesting up to the limit is only checked by the options' own types", () => {
    // 31 levels of lists under [source] is 32 in all: allowed by the depth check, refused as the wrong type.
    const path = template(`${MINIMAL}qemuargs = ${"[".repeat(31)}${"]".repeat(31)}\n`);
    expect(messages(path)).toEqual([
      'qemuargs: expected a list of lists of strings like [["-m", "4096"]], got [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]... (list)',
    ]);
  });
});

describe("loadTemplate", () => {
  test("a minimal template loads with the defaults", () => {
    const path = template(MINIMAL, {}, "rocky9");
    const plan = loadTemplate(path, { env: {} });
    const dir = join(path, "..");
    expect(plan.templatePath).toBe(path);
    expect(plan.templateDir).toBe(dir);
    expect(plan.image).toEqual({ name: "rocky9" });
    expect(plan.source).toMatchObject({
      iso_url: join(dir, "disk.iso"),
      iso_checksum: "none",
      disk_size: 40_960,
      memory: 512,
      cpus: 1,
      format: "qcow2",
      boot_wait: 10_000,
      boot_key_interval: 7,
      ssh_timeout: 300_000,
      shutdown_timeout: 300_000,
      accelerator: "auto",
      http_bind_address: "127.0.0.1",
      http_port_min: 8000,
      http_port_max: 9000,
      host_port_min: 2222,
      host_port_max: 4444,
      communicator: "ssh",
      ssh_port: 22,
      qemuargs: [],
      boot_command: [],
      vm_name: "rocky9.qcow2",
      output_directory: resolve(process.cwd(), "output-rocky9"),
    });
    expect(plan.provisioners).toEqual([]);
    expect(plan.variables).toEqual({});
    expect(plan.secrets).toEqual([]);
  });

  test("[image] name names the build; vm_name follows format", () => {
    const path = template(`[image]\nname = "web"\nversion = "2.0"\n\n${MINIMAL}format = "raw"\n`);
    const plan = loadTemplate(path, { env: {} });
    expect(plan.image).toEqual({ name: "web", version: "2.0" });
    expect(plan.source.vm_name).toBe("web.raw");
    expect(plan.source.output_directory).toBe(resolve(process.cwd(), "output-web"));
  });

  test("the ends of every numeric range are accepted", () => {
    const plan = loadTemplate(
      template(
        `${MINIMAL}cpus = 1\nsockets = 0\nhttp_port_min = 1\nhttp_port_max = 65535\nhost_port_min = 65535\nhost_port_max = 65535\n` +
          `vnc_port_min = 5900\nvnc_port_max = 65535\nssh_port = 1\ndisk_size = "64T"\ndisk_additional_size = ["1M", "67108864"]\nmemory = "1K"\n`,
      ),
      { env: {} },
    );
    expect(plan.source).toMatchObject({
      cpus: 1,
      sockets: 0,
      http_port_min: 1,
      http_port_max: 65_535,
      vnc_port_min: 5900,
      ssh_port: 1,
      disk_size: 67_108_864,
      disk_additional_size: [1, 67_108_864],
      memory: 1,
    });
  });

  test.each([
    ["disk_size = 67108865", "disk_size: must be at most 64T, got 67108865"],
    ["http_port_max = 65536", "http_port_max: must be from 1 to 65535, got 65536"],
    ["vnc_port_min = 5899", "vnc_port_min: must be from 5900 to 65535, got 5899"],
    ["ssh_handshake_attempts = 0", "ssh_handshake_attempts: must be at least 1, got 0"],
    ["boot_command_retries = -1", "boot_command_retries: must be at least 0, got -1"],
  ])("one past the end of a range is refused: %s", (line, message) => {
    expect(messages(template(`${MINIMAL}${line}\n`))).toEqual([message]);
  });

  test("a provisioner's max_retries cannot be negative", () => {
    expect(
      messages(template(`${MINIMAL}\n[[provisioner]]\ntype = "shell"\ninline = ["true"]\nmax_retries = -1\n`)),
    ).toEqual(["max_retries: must be at least 0, got -1"]);
  });

  test("units are converted: sizes to MiB, durations to ms", () => {
    const plan = loadTemplate(
      template(`${MINIMAL}disk_size = "20G"\nmemory = "2G"\nboot_wait = "1m30s"\nssh_timeout = "45m"\n`),
      { env: {} },
    );
    expect(plan.source).toMatchObject({ disk_size: 20_480, memory: 2048, boot_wait: 90_000, ssh_timeout: 2_700_000 });
  });

  test("paths resolve relative to the template, not the current directory", () => {
    const path = template(
      `[source]
iso_url = "isos/disk.iso"
iso_checksum = "none"
ssh_username = "root"
ssh_private_key_file = "keys/id_ed25519"
http_directory = "http"
output_directory = "out/here"

[[provisioner]]
type = "shell"
script = "scripts/setup.sh"

[[provisioner]]
type = "shell"
scripts = ["scripts/a.sh", "scripts/b.sh"]

[[provisioner]]
type = "file"
source = "files/"
destination = "/etc/x"
`,
      {
        "isos/disk.iso": "",
        "keys/id_ed25519": "",
        "http/ks.cfg": "",
        "scripts/setup.sh": "",
        "scripts/a.sh": "",
        "scripts/b.sh": "",
        "files/motd": "",
      },
    );
    const dir = join(path, "..");
    const plan = loadTemplate(path, { env: {} });
    expect(plan.source).toMatchObject({
      iso_url: join(dir, "isos/disk.iso"),
      ssh_private_key_file: join(dir, "keys/id_ed25519"),
      http_directory: join(dir, "http"),
      // output_directory is relative to where tsimg runs, as in Packer.
      output_directory: resolve(process.cwd(), "out/here"),
    });
    expect(plan.provisioners).toMatchObject([
      { type: "shell", script: join(dir, "scripts/setup.sh") },
      { type: "shell", scripts: [join(dir, "scripts/a.sh"), join(dir, "scripts/b.sh")] },
      // A trailing slash (upload the contents) survives path resolution.
      { type: "file", source: `${join(dir, "files")}/`, destination: "/etc/x" },
    ]);
  });

  test("iso_url may be a file:// URL", () => {
    const dir = join(root, "url-iso");
    mkdirSync(dir);
    writeFileSync(join(dir, "my disk.iso"), "");
    const path = template(
      MINIMAL.replace('"disk.iso"', JSON.stringify(`file://${encodeURI(join(dir, "my disk.iso"))}`)),
    );
    expect(loadTemplate(path, { env: {} }).source.iso_url).toBe(join(dir, "my disk.iso"));
  });

  test("${...} is interpolated before validation; run-time {{ }} placeholders are kept", () => {
    const path = template(
      `[variables.size]
default = "8G"

[source]
iso_url = "disk.iso"
iso_checksum = "none"
ssh_username = "\${env(\\"BUILD_USER\\")}"
disk_size = "\${var.size}"
boot_command = ["ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>"]

[source.http_content]
"/ks.cfg" = "\${file(\\"ks.cfg\\")}"
`,
      { "ks.cfg": "rootpw x\n" },
    );
    const plan = loadTemplate(path, { env: { BUILD_USER: "builder" } });
    expect(plan.source).toMatchObject({
      ssh_username: "builder",
      disk_size: 8192,
      boot_command: ["ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>"],
      http_content: { "/ks.cfg": "rootpw x\n" },
    });
  });

  test("a TOML syntax error is one ConfigError with line and column", () => {
    const path = template(`[source]\niso_url = "disk.iso"\ndisk_size = 40G\n`);
    expect(loadErrors(path)).toEqual([
      {
        message: "TOML syntax: Unexpected character, expected only whitespace or comments till end of line",
        line: 3,
        column: 15,
        file: path,
      },
    ]);
  });

  test("a missing template file", () => {
    const path = join(root, "absent.toml");
    expect(loadErrors(path)).toEqual([{ message: `cannot read template: no such file ${path}`, file: path }]);
  });

  test("a directory named as the template", () => {
    const path = join(root, "a-dir.toml");
    mkdirSync(path);
    expect(loadErrors(path)).toEqual([
      { message: `cannot read template: ${path} is a directory (name a .toml file)`, file: path },
    ]);
  });

  test("a file far too big to be a template (the ISO named by mistake) is not read", () => {
    const path = join(root, "big.iso");
    writeFileSync(path, "");
    truncateSync(path, 4 * 1024 * 1024 + 1); // sparse: no disk space used
    expect(loadErrors(path)).toEqual([
      {
        message: `${path} is not a template: 4194305 bytes, over the 4 MiB a template may have (is it the ISO?)`,
        file: path,
      },
    ]);
  });

  test("every problem is reported at once, each with its key and line", () => {
    const path = template(
      `# several problems at once
[image]
name = "multi"

[source]
iso_url = "missing.iso"
iso_checksum = "none"
ssh_username = "root"
qemuargs = [
  ["-m", "4096"],
  ["-serial", "file:serial.out"],
]
disk_size = "40 gigs"
memroy = 1024
cpus = "2"
boot_wait = "5x"
http_directory = "http"
boot_command = ["<tab> text ", "<entr>"]

[source.http_content]
"/ks.cfg" = "text"

[[provisioner]]
type = "shell"
inline = ["echo ok"]

[[provisioner]]
type = "shell"
script = "missing.sh"

[[provisioner]]
type = "shell"
inline = ["echo hi"]
script = "setup.sh"
`,
      { "http/index.html": "", "setup.sh": "" },
    );
    const dir = join(path, "..");
    const where = (key: string, line: number, column = 1) => ({ key, line, column, file: path });
    expect(loadErrors(path, { env: {} })).toEqual([
      {
        message: 'disk_size: expected a size like "40G", "512M" or a number of MiB, got "40 gigs" (string)',
        ...where("source.disk_size", 13),
      },
      { message: 'unknown key "memroy"; did you mean "memory"?', ...where("source.memroy", 14) },
      { message: 'cpus: expected a whole number, got "2" (string)', ...where("source.cpus", 15) },
      {
        message: 'boot_wait: expected a duration like "30s", "5m" or "1h30m", got "5x" (string)',
        ...where("source.boot_wait", 16),
      },
      { message: "http_directory and http_content cannot both be set: pick one", ...where("source.http_content", 20) },
      {
        message: 'boot_command: unknown key "<entr>" at character 1 of boot_command[1]; did you mean "<enter>"?',
        ...where("source.boot_command", 18),
      },
      { message: `no such script ${join(dir, "missing.sh")}`, ...where("provisioner[1].script", 29) },
      {
        message: "shell provisioner needs exactly one of inline, script, scripts; got inline and script",
        ...where("provisioner[2]", 31),
      },
    ]);
  });

  test("iso_urls: the first entry that exists is the ISO", () => {
    const path = template(
      `[source]\niso_urls = ["gone.iso", "here.iso", "also.iso"]\niso_checksum = "none"\nssh_username = "root"\n`,
      { "here.iso": "x", "also.iso": "y" },
    );
    const plan = loadTemplate(path, { env: {} });
    expect(plan.source.iso_url).toBe(join(path, "..", "here.iso"));
    expect(plan.missingInputs).toEqual([]);
  });

  test("a missing ISO is not a template error but a missing input, with its position", () => {
    const path = template(`[source]\niso_url = "nowhere.iso"\niso_checksum = "none"\nssh_username = "root"\n`);
    const plan = loadTemplate(path, { env: {} });
    expect(plan.missingInputs.map((e) => ({ message: e.message, key: e.key, line: e.line }))).toEqual([
      { message: `iso_url: no such file ${join(path, "..", "nowhere.iso")}`, key: "source.iso_url", line: 2 },
    ]);
  });

  test.each<[string, string, { message: string; key: string; line?: number }[]]>([
    [
      "an unknown table",
      `[imgae]\nname = "x"\n\n${MINIMAL}`,
      [{ message: 'unknown table "imgae"; did you mean "image"?', key: "imgae", line: 1 }],
    ],
    [
      "an unknown post-processor type",
      `${MINIMAL}\n[[post_processor]]\ntype = "checksums"\n`,
      [
        {
          message:
            'type: expected one of "checksum", "compress", "manifest", "shell-local", "upload", "notify", got "checksums"; did you mean "checksum"?',
          key: "post_processor[0].type",
          line: 7,
        },
      ],
    ],
    [
      "[post_processor] with single brackets",
      `${MINIMAL}\n[post_processor]\ntype = "checksum"\n`,
      [{ message: "post_processor: expected [[post_processor]] tables", key: "post_processor", line: 6 }],
    ],
    [
      "Packer's plural post_processors",
      `${MINIMAL}\n[[post_processors]]\ntype = "checksum"\n`,
      [{ message: 'unknown table "post_processors"; did you mean "post_processor"?', key: "post_processors", line: 6 }],
    ],
    [
      "a post-processor option of the wrong type, and a shell-local script that does not exist",
      `${MINIMAL}\n[[post_processor]]\ntype = "compress"\ncompression_level = "max"\n\n[[post_processor]]\ntype = "shell-local"\nscript = "post.sh"\n`,
      [
        {
          message: 'compression_level: expected a whole number, got "max" (string)',
          key: "post_processor[0].compression_level",
          line: 8,
        },
        { message: "no such script <dir>/post.sh", key: "post_processor[1].script", line: 12 },
      ],
    ],
    [
      "no [source]",
      `[image]\nname = "x"\n`,
      [{ message: "missing table [source] (the qemu builder's options)", key: "" }],
    ],
    [
      "a missing required key",
      `[source]\niso_checksum = "none"\nssh_username = "root"\n`,
      [{ message: 'missing required key "iso_url" (or "iso_urls"): the installer ISO', key: "source", line: 1 }],
    ],
    [
      "ssh without ssh_username (not confused with a file provisioner's source)",
      `[source]\niso_url = "disk.iso"\niso_checksum = "none"\n\n[[provisioner]]\ntype = "file"\nsource = "disk.iso"\ndestination = "/x"\n`,
      [{ message: 'missing required key "ssh_username" (needed with communicator = "ssh")', key: "source", line: 1 }],
    ],
    [
      "an enum value",
      `${MINIMAL}format = "vmdk"\n`,
      [{ message: 'format: expected one of "qcow2", "raw", got "vmdk" (string)', key: "source.format", line: 5 }],
    ],
    [
      "a port range upside down",
      `${MINIMAL}http_port_min = 9000\nhttp_port_max = 8000\n`,
      [{ message: "http_port_min (9000) is greater than http_port_max (8000)", key: "source.http_port_min", line: 5 }],
    ],
    [
      "qemuargs that are not a list of lists",
      `${MINIMAL}qemuargs = ["-m", "4096"]\n`,
      [
        {
          message: 'qemuargs: expected a list of lists of strings like [["-m", "4096"]], got ["-m","4096"] (list)',
          key: "source.qemuargs",
          line: 5,
        },
      ],
    ],
    [
      "a missing http_directory",
      `${MINIMAL}http_directory = "nope"\n`,
      [{ message: "http_directory: no such directory <dir>/nope", key: "source.http_directory", line: 5 }],
    ],
    [
      "an unknown provisioner type",
      `${MINIMAL}\n[[provisioner]]\ntype = "shel"\ninline = ["true"]\n`,
      [
        {
          message: 'provisioner type "shel" is not known: use "shell", "file" or "shell-local" (did you mean "shell"?)',
          key: "provisioner[0].type",
          line: 7,
        },
      ],
    ],
    [
      "a shell provisioner with nothing to run",
      `${MINIMAL}\n[[provisioner]]\ntype = "shell"\n`,
      [{ message: "shell provisioner needs exactly one of inline, script, scripts", key: "provisioner[0]", line: 6 }],
    ],
    [
      "a file provisioner without a destination and a missing source",
      `${MINIMAL}\n[[provisioner]]\ntype = "file"\nsource = "nope"\n`,
      [
        { message: 'missing required key "destination" (Where it goes)', key: "provisioner[0]", line: 6 },
        { message: "source: no such file or directory <dir>/nope", key: "provisioner[0].source", line: 8 },
      ],
    ],
    [
      "an unknown variable, with the key that uses it",
      `[variables.root_password]\ndefault = "x"\n\n${MINIMAL}ssh_password = "\${var.root_pasword}"\n`,
      [
        {
          message: 'ssh_password: unknown variable "var.root_pasword"; did you mean "var.root_password"?',
          key: "source.ssh_password",
          line: 8,
        },
      ],
    ],
    [
      "an unknown key in a variable",
      `[variables.v]\ndefualt = "x"\n\n${MINIMAL}`,
      [
        { message: 'unknown key "defualt"; did you mean "default"?', key: "variables.v.defualt", line: 2 },
        {
          message: 'variable "v" has no value: give it a default, --var v=..., or TSIMG_VAR_v in the environment',
          key: "variables.v",
          line: 1,
        },
      ],
    ],
    [
      "a number variable that is not a number",
      `[variables.n]\ntype = "number"\ndefault = "many"\n\n${MINIMAL}`,
      [{ message: 'variable "n" must be a number, got "many"', key: "variables.n", line: 1 }],
    ],
  ])("reports %s", (_, toml, expected) => {
    const path = template(toml);
    const dir = join(path, "..");
    const got = loadErrors(path, { env: {} }).map(({ message, key, line }) => ({
      message,
      key,
      ...(line === undefined ? {} : { line }),
    }));
    expect(got).toEqual(expected.map((e) => ({ ...e, message: e.message.replace("<dir>", dir) })));
  });

  describe("post-processors", () => {
    test('each [[post_processor]] is a chain of one; tables sharing chain = "name" form one chain, in order', () => {
      const path = template(
        `${MINIMAL}
[[post_processor]]
chain = "release"
type = "checksum"

[[post_processor]]
type = "manifest"
output = "all.json"

[[post_processor]]
chain = "release"
type = "compress"
format = "zst"

[[post_processor]]
chain = "release"
type = "upload"
url = "https://nexus.example/repo/{{ .Name }}/{{ .FileName }}"
timeout = "10s"
`,
      );
      const plan = loadTemplate(path, { env: {} });
      expect(plan.postProcessors.map((chain) => chain.map((p) => p.type))).toEqual([
        ["checksum", "compress", "upload"],
        ["manifest"],
      ]);
      expect(plan.postProcessors[0]?.[2]).toEqual({
        type: "upload",
        target: "http",
        url: "https://nexus.example/repo/{{ .Name }}/{{ .FileName }}",
        retries: 4,
        retry_delay: 2000,
        timeout: 10_000,
      });
      expect(plan.postProcessors[1]).toEqual([
        { type: "manifest", output: "all.json", strip_path: false, strip_time: false },
      ]);
    });

    test("a template without post-processors has no chains", () => {
      expect(loadTemplate(template(MINIMAL), { env: {} }).postProcessors).toEqual([]);
    });

    test("passwords, tokens, HMAC secrets and URL passwords are masked; ${...} works in post-processor options", () => {
      const path = template(
        `[variables.hmac]\nsensitive = true\ndefault = "hm4c"\n\n${MINIMAL}
[[post_processor]]
type = "upload"
url = "https://u:url%2Fpw@store.example/x"

[[post_processor]]
type = "upload"
url = "https://store.example/x"
token = '\${env("UPLOAD_TOKEN")}'

[[post_processor]]
type = "notify"
url = "https://devops.example/hook"
secret = "\${var.hmac}"
`,
      );
      const plan = loadTemplate(path, { env: { UPLOAD_TOKEN: "t0ken" } });
      expect(plan.secrets.sort()).toEqual(["hm4c", "t0ken", "url/pw"]);
      expect(plan.postProcessors[2]?.[0]).toMatchObject({ type: "notify", secret: "hm4c" });
    });
  });

  describe("variables", () => {
    const TOML = `[variables.v]
default = "from-default"

[source]
iso_url = "disk.iso"
iso_checksum = "none"
ssh_username = "\${var.v}"
`;
    function valueOf(plan: BuildPlan): string | undefined {
      expect(plan.source.ssh_username).toBe(plan.variables.v?.value);
      return plan.variables.v?.value;
    }

    test.each<[string, { file?: boolean; env?: Record<string, string>; vars?: Record<string, string> }, string]>([
      ["the default", {}, "from-default"],
      ["--var-file over the default", { file: true }, "from-file"],
      ["PKR_VAR_v over --var-file", { file: true, env: { PKR_VAR_v: "from-pkr" } }, "from-pkr"],
      ["TSIMG_VAR_v over --var-file", { file: true, env: { TSIMG_VAR_v: "from-tsimg" } }, "from-tsimg"],
      ["TSIMG_VAR_v over PKR_VAR_v", { env: { PKR_VAR_v: "from-pkr", TSIMG_VAR_v: "from-tsimg" } }, "from-tsimg"],
      [
        "--var over everything",
        { file: true, env: { PKR_VAR_v: "from-pkr", TSIMG_VAR_v: "from-tsimg" }, vars: { v: "from-var" } },
        "from-var",
      ],
      ["--var over the default", { vars: { v: "from-var" } }, "from-var"],
    ])("precedence: %s", (_, given, expected) => {
      const path = template(TOML, { "vars.toml": 'v = "from-file"\n' });
      const options: LoadOptions = { env: given.env ?? {}, ...(given.vars ? { vars: given.vars } : {}) };
      if (given.file) options.varFiles = [join(path, "..", "vars.toml")];
      expect(valueOf(loadTemplate(path, options))).toBe(expected);
    });

    test.each([["TSIMG_VAR_v"], ["PKR_VAR_v"]])(
      "%s is read from the process environment when no env is given",
      (name) => {
        vi.stubEnv(name, "from-process-env");
        expect(valueOf(loadTemplate(template(TOML)))).toBe("from-process-env");
      },
    );

    test("a later --var-file wins over an earlier one", () => {
      const path = template(TOML, { "a.toml": 'v = "from-a"\n', "b.toml": 'v = "from-b"\n' });
      const dir = join(path, "..");
      expect(valueOf(loadTemplate(path, { env: {}, varFiles: [join(dir, "a.toml"), join(dir, "b.toml")] }))).toBe(
        "from-b",
      );
    });

    test("a required variable without a value is named, once, at its table", () => {
      const path = template(
        `[variables.root_password]\nsensitive = true\n\n${MINIMAL}ssh_password = "\${var.root_password}"\n`,
      );
      expect(loadErrors(path, { env: {} })).toEqual([
        {
          message:
            'variable "root_password" has no value: give it a default, --var root_password=..., or TSIMG_VAR_root_password in the environment',
          key: "variables.root_password",
          line: 1,
          column: 1,
          file: path,
        },
      ]);
    });

    test("a variable without a default gets its value from --var", () => {
      const path = template(
        `[variables.root_password]\nsensitive = true\n\n${MINIMAL}ssh_password = "\${var.root_password}"\n`,
      );
      const plan = loadTemplate(path, { env: {}, vars: { root_password: "given-pw" } });
      expect(plan.source.ssh_password).toBe("given-pw");
      expect(plan.secrets).toEqual(["given-pw"]);
    });

    test.each<[string, LoadOptions, string]>([
      [
        "--var",
        { vars: { vv: "x" } },
        '--var vv=... sets "vv", which the template does not declare; did you mean "v"?',
      ],
      [
        "--var-file",
        { varFiles: ["<dir>/extra.toml"] },
        '--var-file <dir>/extra.toml sets "other", which the template does not declare',
      ],
    ])("%s setting an undeclared variable is an error", (_, options, message) => {
      const path = template(TOML, { "extra.toml": 'other = "x"\n' });
      const dir = join(path, "..");
      const fixed: LoadOptions = {
        env: {},
        ...options,
        ...(options.varFiles ? { varFiles: options.varFiles.map((f) => f.replace("<dir>", dir)) } : {}),
      };
      expect(messages(path, fixed)).toEqual([message.replace("<dir>", dir)]);
    });

    test("secrets are the sensitive variables' values and ssh_password", () => {
      const path = template(`[variables.root_password]
default = "r00t-pw"
sensitive = true

[variables.api_token]
default = "t0ken"
sensitive = true

[variables.version]
default = "1.0.0"

[source]
iso_url = "disk.iso"
iso_checksum = "none"
ssh_username = "admin"
ssh_password = "ssh-pw-\${var.version}"
`);
      const plan = loadTemplate(path, { env: {}, vars: { api_token: "t0ken-from-cli" } });
      expect(plan.secrets).toEqual(["r00t-pw", "t0ken-from-cli", "ssh-pw-1.0.0"]);
      expect(plan.variables).toEqual({
        root_password: { value: "r00t-pw", sensitive: true },
        api_token: { value: "t0ken-from-cli", sensitive: true },
        version: { value: "1.0.0", sensitive: false },
      });
    });
  });
});
