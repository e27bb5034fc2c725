// The kickstart's password against ssh_password, checked when the template loads: a mismatch
// would otherwise show only after the whole install, as a wait for SSH until ssh_timeout.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { Problem } from "../../src/core/check-options.js";
import { checkKickstartPassword, kickstartPassword, type LoginSource } from "../../src/builder/kickstart-password.js";

const KS_URL = "inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks/rocky9.ks ";

describe("kickstartPassword", () => {
  test.each([
    [
      "rootpw --plaintext",
      "text\nrootpw --plaintext s3cret\n",
      "root",
      { password: "s3cret", line: 2, command: "rootpw" },
    ],
    ["rootpw without a mode is plaintext", "rootpw s3cret", "root", { password: "s3cret", line: 1, command: "rootpw" }],
    ["quotes group, as shlex does", `rootpw --plaintext "two words"`, "root", { password: "two words", line: 1 }],
    ["a trailing comment", "rootpw --plaintext pw # the build's", "root", { password: "pw", line: 1 }],
    ["the last line wins", "rootpw one\nrootpw two\n", "root", { password: "two", line: 2 }],
    ["--allow-ssh is an option", "rootpw --allow-ssh --plaintext pw", "root", { password: "pw" }],
    ["user --name=", "user --name=admin --password=pw --plaintext", "admin", { password: "pw", command: "user" }],
    ["user --name x", "user --groups=wheel --name admin --password pw", "admin", { password: "pw", line: 1 }],
  ])("%s", (_, text, user, expected) => {
    expect(kickstartPassword(text, user)).toMatchObject(expected);
  });

  test.each([
    ["a hashed rootpw", "rootpw --iscrypted $6$salt$hash", "root"],
    ["rootpw --lock without a password", "rootpw --lock", "root"],
    ["no rootpw at all", "text\ncdrom\n", "root"],
    ["rootpw when logging in as another user", "rootpw pw", "admin"],
    ["another user's line", "user --name=other --password=pw", "admin"],
    ["a hashed user password", "user --name=admin --password=$6$x --iscrypted", "admin"],
    ["%post sets the password", "rootpw pw\n%post\necho root:other | chpasswd\n%end\n", "root"],
    ["%pre runs passwd", "%pre\npasswd -d root\n%end\nrootpw pw\n", "root"],
    ["%include may set it", "rootpw pw\n%include /tmp/more.ks\n", "root"],
  ])("nothing to compare: %s", (_, text, user) => {
    expect(kickstartPassword(text, user)).toBeUndefined();
  });

  test("package lists and %post lines are not commands, and the passwd package is just a package", () => {
    const text = "rootpw pw\n%packages\npasswd\nrootpw-not-a-command\n%end\n%post\nrootpw other\n%end\n";
    expect(kickstartPassword(text, "root")).toEqual({ password: "pw", line: 1, command: "rootpw" });
  });
});

describe("checkKickstartPassword", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-kspw-"));
  mkdirSync(join(dir, "http/ks"), { recursive: true });
  writeFileSync(join(dir, "outside.ks"), "rootpw --plaintext outside\n");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const source = (over: Partial<LoginSource>): LoginSource => ({
    communicator: "ssh",
    ssh_username: "root",
    ssh_password: "xxxxx",
    boot_command: ["<tab> inst.text ", KS_URL, "<enter>"],
    http_content: { "/ks/rocky9.ks": "cdrom\nrootpw --plaintext xxxxx\n" },
    ...over,
  });
  const problems = (over: Partial<LoginSource>): Problem[] => {
    const found: Problem[] = [];
    checkKickstartPassword(source(over), found);
    return found;
  };

  test("the same password passes", () => expect(problems({})).toEqual([]));

  test("a different ssh_password is refused, naming the kickstart's URL and line but neither password", () => {
    const found = problems({ ssh_password: "changed-in-the-template" });
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toEqual(["source", "ssh_password"]);
    expect(found[0]!.message).toMatch(
      /^ssh_password is not the password the kickstart served at \/ks\/rocky9\.ks gives root \(rootpw, its line 2\): .* wait for SSH until ssh_timeout\. Make them the same, or serve the kickstart with templatefile\(\)/,
    );
    expect(found[0]!.message).not.toMatch(/xxxxx|changed-in-the-template/);
  });

  test("a kickstart in http_directory is read too", () => {
    writeFileSync(join(dir, "http/ks/rocky9.ks"), "rootpw --plaintext other\n");
    const found = problems({ http_content: undefined, http_directory: join(dir, "http") });
    expect(found.map((p) => p.message)).toEqual([expect.stringContaining("at /ks/rocky9.ks gives root")]);
  });

  test("a non-root ssh_username is compared with its user line", () => {
    const http_content = { "/ks/rocky9.ks": "rootpw pw\nuser --name=admin --password=adminpw\n" };
    expect(problems({ ssh_username: "admin", ssh_password: "adminpw", http_content })).toEqual([]);
    expect(problems({ ssh_username: "admin", ssh_password: "pw", http_content })[0]!.message).toContain(
      'gives "admin" (user, its line 2)',
    );
  });

  // Each with a password that would not match, so only the reason named keeps the check quiet.
  const other = { ssh_password: "different" };
  test.each<[string, Partial<LoginSource>]>([
    ["no boot command", { ...other, boot_command: undefined }],
    ["a kickstart from elsewhere", { ...other, boot_command: ["inst.ks=http://10.0.0.1/ks.cfg<enter>"] }],
    ["a path that is not served", { ...other, boot_command: [KS_URL.replace("rocky9", "other")] }],
    [
      "a path out of http_directory",
      {
        ...other,
        http_content: undefined,
        http_directory: join(dir, "http"),
        // A kickstart that exists, beside the directory: not what the server would send.
        boot_command: [KS_URL.replace("/ks/rocky9.ks", "/../outside.ks")],
      },
    ],
    ["no password login", { ssh_password: undefined }],
    ["communicator none", { ...other, communicator: "none" }],
  ])("no check: %s", (_, over) => {
    expect(problems(over)).toEqual([]);
  });
});
