import { describe, expect, test } from "vitest";
import { MASK, Masker } from "../../src/core/masker.js";

function masker(...secrets: (string | undefined)[]): Masker {
  const m = new Masker();
  for (const secret of secrets) m.add(secret);
  return m;
}

describe("Masker", () => {
  const secret = "p@ss w/rd";
  test.each([
    ["plain", `password is ${secret}.`, "password is <sensitive>."],
    ["URL-encoded", `GET /ks?pw=${encodeURIComponent(secret)}&x=1`, "GET /ks?pw=<sensitive>&x=1"],
    ["base64", `Authorization: Basic ${Buffer.from(secret).toString("base64")}`, "Authorization: Basic <sensitive>"],
    ["several times", `${secret}${secret} and ${secret}`, "<sensitive><sensitive> and <sensitive>"],
    ["absent", "nothing to hide", "nothing to hide"],
  ])("masks a secret in %s form", (_, text, expected) => {
    expect(masker(secret).mask(text)).toBe(expected);
  });

  test("masks each line of a multi-line secret on its own", () => {
    const key = "-----BEGIN KEY-----\r\nAAAAB3NzaC1yc2E\nQ29tcGxldGVseQ==\n-----END KEY-----";
    const m = masker(key);
    expect(m.mask(`whole: ${key}`)).toBe("whole: <sensitive>");
    expect(m.mask("line 2 alone: AAAAB3NzaC1yc2E")).toBe("line 2 alone: <sensitive>");
    expect(m.mask("stderr: Q29tcGxldGVseQ== rejected\n-----END KEY-----")).toBe(
      "stderr: <sensitive> rejected\n<sensitive>",
    );
  });

  // A key pasted from Windows has \r\n endings; a serial console or a log may print it with \n, or line by line.
  test.each([
    ["\\r\\n", "\r\n"],
    ["\\n", "\n"],
  ])(
    "masks every line of a multi-line secret with %s endings, the first and last included, however it is printed",
    (_, eol) => {
      const lines = [
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAA",
        "-----END OPENSSH PRIVATE KEY-----",
      ];
      const m = masker(lines.join(eol) + eol);
      for (const [i, line] of lines.entries())
        expect(m.mask(`line ${i + 1}: ${line}`), `line ${i + 1} alone`).toBe(`line ${i + 1}: <sensitive>`);
      // Printed whole with the other line ending: line by line. With its own: whole or line by line.
      for (const printed of ["\n", "\r\n"])
        expect(m.mask(lines.join(printed))).toMatch(/^<sensitive>(\r?\n<sensitive>)*$/);
      expect(m.mask(lines.join(eol === "\n" ? "\r\n" : "\n"))).toBe(
        ["<sensitive>", "<sensitive>", "<sensitive>"].join(eol === "\n" ? "\r\n" : "\n"),
      );
      expect(m.mask(`cat key\n${lines.join(eol)}${eol}$ `)).not.toMatch(/OPENSSH|b3Blbn/);
    },
  );

  test("a secret read from a file with its trailing newline is masked without it too, in every form", () => {
    const m = masker("s3cret-pw\n");
    expect(m.mask("pw=s3cret-pw;")).toBe("pw=<sensitive>;");
    expect(m.mask(`Basic ${Buffer.from("s3cret-pw").toString("base64")}`)).toBe("Basic <sensitive>");
    expect(m.mask(`?pw=${encodeURIComponent("s3cret-pw")}`)).toBe("?pw=<sensitive>");
  });

  test("an indented line of a multi-line secret is masked when printed without its indentation", () => {
    const m = masker("[auth]\n    token = abc-123-xyz\n");
    expect(m.mask("token = abc-123-xyz")).toBe("<sensitive>");
    expect(m.mask("    token = abc-123-xyz")).toBe("<sensitive>");
  });

  test("short lines of a multi-line secret are not masked on their own", () => {
    expect(masker("ab\ncorrect-horse").mask("ab cd correct-horse")).toBe("ab cd <sensitive>");
  });

  test.each([
    ["empty", ""],
    ["undefined", undefined],
    ["1 character", "a"],
    ["2 characters", "ab"],
  ])("ignores a secret that is %s", (_, short) => {
    expect(masker(short).mask("a b ab abc")).toBe("a b ab abc");
  });

  test("masks a 3-character secret", () => {
    expect(masker("abc").mask("a b ab abc")).toBe("a b ab <sensitive>");
  });

  test("masks a secret that contains another one whole", () => {
    expect(masker("hunter", "hunter2-long").mask("pw=hunter2-long; old=hunter")).toBe(
      "pw=<sensitive>; old=<sensitive>",
    );
  });

  test("MASK is the text that replaces secrets", () => {
    expect(MASK).toBe("<sensitive>");
  });
});
