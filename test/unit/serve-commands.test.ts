// The comment parser and the serve.toml loader: table-driven, messages asserted exactly.
import { describe, expect, it } from "vitest";
import { parseCommand, resolveImages } from "../../src/serve/commands.js";
import { parseServeConfig } from "../../src/serve/config.js";

const ENV = { TSIMG_GITLAB_TOKEN: "glpat-123456789", TSIMG_WEBHOOK_SECRET: "secret-123456" };

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
    ["/tsimg build ../../etc/passwd", { kind: "help", problem: '`../../etc/passwd` is not an image name (lowercase letters, digits, ".", "_" and "-")' }],
    ["/tsimg build rocky9;reboot", { kind: "help", problem: '`rocky9;reboot` is not an image name (lowercase letters, digits, ".", "_" and "-")' }],
    ["/tsimg build $(id)", { kind: "help", problem: '`$(id)` is not an image name (lowercase letters, digits, ".", "_" and "-")' }],
    ["/tsimg build `id`", { kind: "help", problem: '`id` is not an image name (lowercase letters, digits, ".", "_" and "-")' }],
    ["/tsimg build a..b", { kind: "help", problem: '`a..b` is not an image name (lowercase letters, digits, ".", "_" and "-")' }],
    ["/tsimg build Rocky9", { kind: "help", problem: '`Rocky9` is not an image name (lowercase letters, digits, ".", "_" and "-")' }],
    ["/tsimg build -rf", { kind: "help", problem: '`-rf` is not an image name (lowercase letters, digits, ".", "_" and "-")' }],
    [`/tsimg build ${"a".repeat(64)}`, { kind: "help", problem: `\`${"a".repeat(64)}\` is not an image name (lowercase letters, digits, ".", "_" and "-")` }],
  ])("%j", (note, expected) => {
    expect(parseCommand(note)).toEqual(expected);
  });
});

describe("resolveImages", () => {
  it.each([
    [["tinyos"], ["tinyos", "rocky9"], { images: ["tinyos"] }],
    ["all", ["tinyos", "rocky9"], { images: ["rocky9", "tinyos"] }],
    [["rocky8"], ["tinyos", "rocky9"], { problem: "there is no image `rocky8` at this commit; did you mean `rocky9`?" }],
    [["fedora"], ["tinyos"], { problem: "there is no image `fedora` at this commit" }],
    [["tinyos"], [], { problem: "this commit has no image templates" }],
  ] as const)("%j among %j", (requested, available, expected) => {
    expect(resolveImages(requested as string[] | "all", [...available])).toEqual(expected);
  });
});

describe("serve.toml", () => {
  it("fills the defaults and reads secrets only from the environment", () => {
    const config = parseServeConfig({ gitlab_url: "https://gitlab.example.com/", allowed_projects: [7, "infra/images"] }, "/srv", { ...ENV, TSIMG_DASHBOARD_TOKEN: "dash-123456" });
    expect(config).toEqual({
      host: "127.0.0.1",
      port: 8080,
      publicUrl: "http://127.0.0.1:8080",
      gitlabUrl: "https://gitlab.example.com",
      allowedProjects: ["7", "infra/images"],
      minAccessLevel: 30,
      imagesDir: "images",
      stateDir: "/srv/tsimg-state",
      concurrency: 1,
      allowForks: false,
      autobuild: false,
      dashboardOpen: false,
      maxLogBytes: 10 * 1024 * 1024,
      secrets: { gitlabToken: ENV.TSIMG_GITLAB_TOKEN, webhookSecret: ENV.TSIMG_WEBHOOK_SECRET, dashboardToken: "dash-123456" },
    });
  });

  it("lists every problem at once, quoting key and value", () => {
    expect(() =>
      parseServeConfig({ listen: "8080", gitlab_url: "gitlab.example.com", allowed_projects: [], concurrency: 0, images_dir: "../x", webhook_secret: "oops" }, "/srv", {}),
    ).toThrow(
      [
        "10 errors in serve.toml:",
        '  unknown key "webhook_secret"; known keys are listen, public_url, gitlab_url, allowed_projects, min_access_level, images_dir, state_dir, concurrency, allow_forks, autobuild, dashboard_open, max_log_size',
        "  secrets are not read from serve.toml: set TSIMG_GITLAB_TOKEN and TSIMG_WEBHOOK_SECRET in the environment",
        '  expected "listen" like 127.0.0.1:8080 or 0.0.0.0:8080, got "8080"',
        '  expected "allowed_projects" to be a non-empty list of project ids or paths, got [] (array)',
        '  expected "images_dir" to be a folder inside the repository like "images", got "../x"',
        "  environment variable TSIMG_GITLAB_TOKEN is not set",
        "  environment variable TSIMG_WEBHOOK_SECRET is not set",
        '  the dashboard needs a token: set TSIMG_DASHBOARD_TOKEN in the environment, or set dashboard_open = true in serve.toml to let anyone who reaches "listen" read it',
        '  expected "gitlab_url" to be an http(s) URL like https://gitlab.example.com, got "gitlab.example.com"',
        '  expected "concurrency" to be a whole number from 1 to 64, got 0 (number)',
      ].join("\n"),
    );
  });
});
