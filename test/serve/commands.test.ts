// The comment parser and the serve.toml loader: table-driven, messages asserted exactly.
import { chmodSync, chownSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCommand, resolveImages } from "../../src/serve/commands.js";
import { parseServeConfig } from "../../src/serve/config.js";

const SECRETS = { TSIMG_GITLAB_TOKEN: "glpat-123456789", TSIMG_WEBHOOK_SECRET: "secret-123456" };

describe("parseCommand", () => {
  it.each([
    ["/tsimg build tinyos", { kind: "build", images: ["tinyos"] }],
    ["/tsimg build tinyos rocky9 tinyos\nplease", { kind: "build", images: ["tinyos", "rocky9"] }],
    ["  /tsimg   build   all  ", { kind: "build", images: "all" }],
    ["/tsimg cancel", { kind: "cancel" }],
    ["/tsimg help", { kind: "help" }],
    ["/tsimg", { kind: "help" }],
    ["looks good\n/tsimg build tinyos", { kind: "none" }],
    ["/tsimgbuild tinyos", { kind: "help", problem: "unknown command `/tsimgbuild`" }],
    ["/tsimg build", { kind: "help", problem: "`/tsimg build` needs an image name, or `all`" }],
    ["/tsimg bild tinyos", { kind: "help", problem: "unknown command `bild`; did you mean `/tsimg build`?" }],
    ["/tsimg cancle", { kind: "help", problem: "unknown command `cancle`; did you mean `/tsimg cancel`?" }],
    ["/tsimg deploy prod", { kind: "help", problem: "unknown command `deploy`" }],
    ["/tsimg cancel now", { kind: "help", problem: "`/tsimg cancel` takes no arguments" }],
    [
      "/tsimg build ../../etc/passwd",
      {
        kind: "help",
        problem: '`../../etc/passwd` is not an image name (lowercase letters, digits, ".", "_" and "-")',
      },
    ],
    [
      "/tsimg build rocky9;reboot",
      { kind: "help", problem: '`rocky9;reboot` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    [
      "/tsimg build $(id)",
      { kind: "help", problem: '`$(id)` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    [
      "/tsimg build `id`",
      { kind: "help", problem: '`id` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    [
      "/tsimg build a..b",
      { kind: "help", problem: '`a..b` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    [
      "/tsimg build Rocky9",
      { kind: "help", problem: '`Rocky9` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    [
      "/tsimg build -rf",
      { kind: "help", problem: '`-rf` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    // A name is a file's base name in images_dir, never a path (images/sub/dir.toml is not an image).
    [
      "/tsimg build sub/dir",
      { kind: "help", problem: '`sub/dir` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    [
      "/tsimg build tinyos/",
      { kind: "help", problem: '`tinyos/` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    [
      "/tsimg build tinyos sub\\dir",
      { kind: "help", problem: '`sub\\dir` is not an image name (lowercase letters, digits, ".", "_" and "-")' },
    ],
    [
      `/tsimg build ${"a".repeat(64)}`,
      {
        kind: "help",
        problem: `\`${"a".repeat(64)}\` is not an image name (lowercase letters, digits, ".", "_" and "-")`,
      },
    ],
  ])("%j", (note, expected) => {
    expect(parseCommand(note)).toEqual(expected);
  });
});

describe("resolveImages", () => {
  it.each([
    [["tinyos"], ["tinyos", "rocky9"], { images: ["tinyos"] }],
    ["all", ["tinyos", "rocky9"], { images: ["rocky9", "tinyos"] }],
    [
      ["rocky8"],
      ["tinyos", "rocky9"],
      { problem: "there is no image `rocky8` at this commit; did you mean `rocky9`?" },
    ],
    [["fedora"], ["tinyos"], { problem: "there is no image `fedora` at this commit" }],
    [["tinyos"], [], { problem: "this commit has no image templates" }],
  ] as const)("%j among %j", (requested, available, expected) => {
    expect(resolveImages(requested as string[] | "all", [...available])).toEqual(expected);
  });
});

describe("serve.toml", () => {
  it("fills the defaults and reads secrets only from files", () => {
    const config = parseServeConfig(
      { gitlab_url: "https://gitlab.example.com/", allowed_projects: [7, "infra/images"] },
      "/srv",
      secretFiles({ ...SECRETS, TSIMG_DASHBOARD_TOKEN: "dash-123456" }),
    );
    expect(config).toEqual({
      host: "127.0.0.1",
      port: 8080,
      publicUrl: "http://127.0.0.1:8080",
      gitlabUrl: "https://gitlab.example.com",
      allowedProjects: ["7", "infra/images"],
      minAccessLevel: 30,
      imagesDir: "images",
      imageGlobs: ["images/*.toml", "packer/*/*.pkr.hcl", "packer/*/*.pkr.json"],
      stateDir: "/srv/tsimg-state",
      concurrency: 1,
      allowForks: false,
      autobuild: false,
      dashboardOpen: false,
      maxLogBytes: 10 * 1024 * 1024,
      secrets: {
        gitlabToken: SECRETS.TSIMG_GITLAB_TOKEN,
        webhookSecret: SECRETS.TSIMG_WEBHOOK_SECRET,
        dashboardToken: "dash-123456",
      },
    });
  });

  it("reads secrets from systemd credentials ($CREDENTIALS_DIRECTORY), one trailing newline dropped", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsimg-creds-"));
    for (const [name, value] of [
      ["gitlab-token", "glpat-from-credential\n"],
      ["webhook-secret", "hook-secret-1234"],
      ["dashboard-token", "dash-1234567"],
    ])
      writeFileSync(join(dir, name!), value!, { mode: 0o400 });
    const config = parseServeConfig({ gitlab_url: "https://gitlab.example.com", allowed_projects: [7] }, "/srv", {
      CREDENTIALS_DIRECTORY: dir,
    });
    expect(config.secrets).toEqual({
      gitlabToken: "glpat-from-credential",
      webhookSecret: "hook-secret-1234",
      dashboardToken: "dash-1234567",
    });
  });

  it("refuses a secret in the environment, and says where to put it instead", () => {
    const env = { ...secretFiles(SECRETS), TSIMG_GITLAB_TOKEN: "glpat-in-the-environment" };
    expect(() =>
      parseServeConfig(
        { gitlab_url: "https://gitlab.example.com", allowed_projects: [7], dashboard_open: true },
        "/srv",
        env,
      ),
    ).toThrow(
      [
        "1 error in serve.toml:",
        `  TSIMG_GITLAB_TOKEN is set in the environment: serve reads secrets only from files, because a process's environment stays readable in /proc/<pid>/environ to every process of its user (a build's shell-local included) for as long as it runs. Put the value in a file only serve's user can read and set TSIMG_GITLAB_TOKEN_FILE to its path, or pass it as the systemd credential "gitlab-token" (LoadCredential=gitlab-token:<path>)`,
      ].join("\n"),
    );
  });

  it("refuses secret files other users can read, and ones build_user owns", () => {
    const env = secretFiles(SECRETS);
    chmodSync(env.TSIMG_WEBHOOK_SECRET_FILE!, 0o644);
    const problems = () => {
      try {
        parseServeConfig(
          { gitlab_url: "https://gitlab.example.com", allowed_projects: [7], dashboard_open: true },
          "/srv",
          env,
        );
        return [];
      } catch (error) {
        return (error as { details: string[] }).details;
      }
    };
    expect(problems()).toEqual([
      `${env.TSIMG_WEBHOOK_SECRET_FILE} (TSIMG_WEBHOOK_SECRET_FILE) can be read by other users (mode 644): chmod 600 it`,
    ]);
    if (process.getuid?.() !== 0) return; // chown needs root
    chmodSync(env.TSIMG_WEBHOOK_SECRET_FILE!, 0o600);
    chownSync(env.TSIMG_WEBHOOK_SECRET_FILE!, 65534, 65534);
    expect(() =>
      parseServeConfig(
        { gitlab_url: "https://gitlab.example.com", allowed_projects: [7], dashboard_open: true, build_user: "nobody" },
        "/srv",
        env,
      ),
    ).toThrow(
      `${env.TSIMG_WEBHOOK_SECRET_FILE} (TSIMG_WEBHOOK_SECRET_FILE) belongs to build_user, so every build could read it: chown it to the user serve runs as`,
    );
  });

  it("resolves build_user and passes only the build_env variables that are set", () => {
    const env = { ...secretFiles(SECRETS), http_proxy: "http://proxy:3128", TSIMG_VAR_region: "eu" };
    const config = parseServeConfig(
      {
        gitlab_url: "https://gitlab.example.com",
        allowed_projects: [7],
        dashboard_open: true,
        build_user: "nobody",
        build_env: ["http_proxy", "TSIMG_VAR_region", "NOT_SET"],
      },
      "/srv",
      env,
    );
    expect(config.buildUser).toEqual({ name: "nobody", uid: 65534, gid: 65534 });
    expect(config.buildEnv).toEqual({ http_proxy: "http://proxy:3128", TSIMG_VAR_region: "eu" });
  });

  it.each([
    [{ build_user: "root" }, '"build_user" must not be root: builds run code from merge requests'],
    [
      { build_user: "no-such-user-here" },
      '"build_user" "no-such-user-here" is not a user on this host (getent passwd found nothing): create it, e.g. useradd --system --no-create-home no-such-user-here',
    ],
    [{ build_user: "x; rm -rf /" }, 'expected "build_user" to be a user name like "tsimg-build", got "x; rm -rf /"'],
    [
      { build_env: ["TSIMG_GITLAB_TOKEN_FILE"] },
      '"build_env" must not pass TSIMG_GITLAB_TOKEN_FILE to builds: it is how serve finds its own secrets',
    ],
    [
      { build_env: ["CREDENTIALS_DIRECTORY"] },
      '"build_env" must not pass CREDENTIALS_DIRECTORY to builds: it is how serve finds its own secrets',
    ],
    [
      { image_globs: "packer/*/*.pkr.hcl" },
      'expected "image_globs" to be a list of globs like ["packer/*/*.pkr.hcl"], got "packer/*/*.pkr.hcl"',
    ],
    [
      { image_globs: ["../other/*.toml"] },
      '"image_globs": expected a path inside the repository like "packer/*/*.pkr.hcl", got "../other/*.toml"',
    ],
    [
      { build_env: "http_proxy" },
      'expected "build_env" to be a list of environment variable names like ["http_proxy"], got "http_proxy"',
    ],
  ])("refuses %j", (extra, problem) => {
    expect(() =>
      parseServeConfig(
        { gitlab_url: "https://gitlab.example.com", allowed_projects: [7], dashboard_open: true, ...extra },
        "/srv",
        secretFiles(SECRETS),
      ),
    ).toThrow(`1 error in serve.toml:\n  ${problem}`);
  });

  it("lists every problem at once, quoting key and value", () => {
    expect(() =>
      parseServeConfig(
        {
          listen: "8080",
          gitlab_url: "gitlab.example.com",
          allowed_projects: [],
          concurrency: 0,
          images_dir: "../x",
          webhook_secret: "oops",
        },
        "/srv",
        {},
      ),
    ).toThrow(
      [
        "10 errors in serve.toml:",
        '  unknown key "webhook_secret"; known keys are listen, public_url, gitlab_url, allowed_projects, min_access_level, images_dir, image_globs, state_dir, concurrency, allow_forks, autobuild, build_user, build_env, dashboard_open, max_log_size, queue',
        "  secrets are not read from serve.toml: put each in a file and set TSIMG_GITLAB_TOKEN_FILE and TSIMG_WEBHOOK_SECRET_FILE (or use systemd credentials)",
        '  expected "listen" like 127.0.0.1:8080 or 0.0.0.0:8080, got "8080"',
        '  expected "allowed_projects" to be a non-empty list of project ids or paths, got [] (array)',
        '  expected "images_dir" to be a folder inside the repository like "images", got "../x"',
        '  TSIMG_GITLAB_TOKEN_FILE is not set (nor is there a systemd credential "gitlab-token"): serve needs the file that holds TSIMG_GITLAB_TOKEN',
        '  TSIMG_WEBHOOK_SECRET_FILE is not set (nor is there a systemd credential "webhook-secret"): serve needs the file that holds TSIMG_WEBHOOK_SECRET',
        '  the dashboard needs a token: put it in a file and set TSIMG_DASHBOARD_TOKEN_FILE (or the systemd credential "dashboard-token"), or set dashboard_open = true in serve.toml to let anyone who reaches "listen" read it',
        '  expected "gitlab_url" to be an http(s) URL like https://gitlab.example.com, got "gitlab.example.com"',
        '  expected "concurrency" to be a whole number from 1 to 64, got 0 (number)',
      ].join("\n"),
    );
  });
});

/** Each secret in a file of its own (mode 600); returns the TSIMG_*_FILE variables naming them. */
function secretFiles(secrets: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-secrets-"));
  return Object.fromEntries(
    Object.entries(secrets).map(([name, value]) => {
      const file = join(dir, name.toLowerCase());
      writeFileSync(file, `${value}\n`, { mode: 0o600 });
      return [`${name}_FILE`, file];
    }),
  );
}
