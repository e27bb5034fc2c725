// iso_checksum's forms (src/sources/checksum.ts): what is accepted, what is refused and how
// it says so, and both line formats of a checksum list (GNU and BSD).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { expectedChecksum, findInChecksumList, parseChecksum } from "../../src/sources/checksum.js";

/** The error parseChecksum and friends throw: the message, on the key. */
const refusal = (message: string) => new ConfigError(message, { key: "source.iso_checksum" });

const MD5 = "d41d8cd98f00b204e9800998ecf8427e";
const SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SHA512 =
  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

describe("parseChecksum", () => {
  test.each([
    [`sha256:${SHA256}`, "sha256", SHA256],
    [`sha512:${SHA512}`, "sha512", SHA512],
    [`sha1:${SHA1}`, "sha1", SHA1],
    [`md5:${MD5}`, "md5", MD5],
    [SHA256.toUpperCase(), "sha256", SHA256],
    [SHA1, "sha1", SHA1],
    [MD5, "md5", MD5],
    [SHA512, "sha512", SHA512],
    [` sha256:${SHA256} `, "sha256", SHA256],
  ])("%s -> %s", (value, type, hex) => {
    expect(parseChecksum(value)).toEqual({ type, hex });
  });

  test.each([
    [`sha256:${SHA1}`, `iso_checksum "sha256:${SHA1}": a sha256 checksum has 64 hex digits, this one has 40`],
    [
      `sha256:${SHA256.slice(0, 63)}`,
      `iso_checksum "sha256:${SHA256.slice(0, 63)}": a sha256 checksum has 64 hex digits, this one has 63`,
    ],
    [`sha1:${SHA256}`, `iso_checksum "sha1:${SHA256}": a sha1 checksum has 40 hex digits, this one has 64`],
    [`md5:${SHA1}`, `iso_checksum "md5:${SHA1}": a md5 checksum has 32 hex digits, this one has 40`],
    [`sha512:${SHA256}`, `iso_checksum "sha512:${SHA256}": a sha512 checksum has 128 hex digits, this one has 64`],
  ])("refuses %s: the digits do not fit the type", (value, message) => {
    expect(() => parseChecksum(value)).toThrow(refusal(message));
  });

  const notUnderstood = (value: string) =>
    `iso_checksum "${value}" is not understood: use sha256:<hex>, sha512:<hex>, sha1:<hex>, md5:<hex>, bare hex, file:<path or URL>, or none`;
  test.each([SHA256.slice(0, 50), `sha384:${SHA256}`, `sha256:${SHA256.slice(0, 63)}g`, "sha256:", "", "none please"])(
    "refuses %j as not understood",
    (value) => {
      expect(() => parseChecksum(value)).toThrow(refusal(notUnderstood(value)));
    },
  );
});

describe("findInChecksumList", () => {
  const other = "0".repeat(64);

  test.each([
    ["GNU text mode", `${other}  other.iso\n${SHA256}  x.iso\n`],
    ["GNU binary mode", `${SHA256} *x.iso\n`],
    ["GNU with a directory", `${SHA256}  ./isos/x.iso\n`],
    ["GNU with CRLF endings", `${other}  other.iso\r\n${SHA256}  x.iso\r\n`],
    ["BSD (sha256sum --tag)", `SHA256 (other.iso) = ${other}\nSHA256 (x.iso) = ${SHA256}\n`],
    ["BSD without spaces", `SHA256(x.iso)=${SHA256}\n`],
    ["BSD, upper-case hex", `SHA256 (x.iso) = ${SHA256.toUpperCase()}\n`],
  ])("finds the ISO's line in the %s form", (_, text) => {
    expect(findInChecksumList(text, "x.iso")).toEqual({ type: "sha256", hex: SHA256 });
  });

  test.each([
    ["SHA512", SHA512, "sha512"],
    ["SHA1", SHA1, "sha1"],
    ["MD5", MD5, "md5"],
  ])("a BSD %s line gives its own type", (tag, hex, type) => {
    expect(findInChecksumList(`${tag} (x.iso) = ${hex}\n`, "x.iso")).toEqual({ type, hex });
  });

  test("a BSD line whose digits do not fit its type is refused, not compared", () => {
    expect(() => findInChecksumList(`SHA256 (x.iso) = ${SHA1}\n`, "x.iso")).toThrow(
      refusal(`iso_checksum "sha256:${SHA1}": a sha256 checksum has 64 hex digits, this one has 40`),
    );
  });

  test.each([
    ["only other files", `${SHA256}  other.iso\nSHA256 (x.iso.torrent) = ${SHA256}\n`],
    ["a name that only ends like it", `${SHA256}  prefix-x.iso\n`],
    ["comments and blank lines", `# SHA256 (x.iso) = ${SHA256}\n\n`],
  ])("finds nothing in a list with %s", (_, text) => {
    expect(findInChecksumList(text, "x.iso")).toBeUndefined();
  });
});

describe("expectedChecksum", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsimg-checksum-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("none is no checksum; a literal is parsed", async () => {
    expect(await expectedChecksum("none", "x.iso", (p) => p)).toBeUndefined();
    expect(await expectedChecksum(`sha256:${SHA256}`, "x.iso", (p) => p)).toEqual({ type: "sha256", hex: SHA256 });
  });

  test("file: reads a BSD list relative to the template", async () => {
    writeFileSync(join(dir, "CHECKSUM"), `SHA256 (boot.iso) = ${"1".repeat(64)}\nSHA256 (x.iso) = ${SHA256}\n`);
    expect(await expectedChecksum("file:CHECKSUM", "x.iso", (p) => join(dir, p))).toEqual({
      type: "sha256",
      hex: SHA256,
    });
  });

  test("file: without a line for the ISO says which list and which file", async () => {
    writeFileSync(join(dir, "SUMS"), `${SHA256}  other.iso\n`);
    await expect(expectedChecksum("file:SUMS", "x.iso", (p) => join(dir, p))).rejects.toThrow(
      refusal("iso_checksum: SUMS has no line for x.iso"),
    );
  });

  test("file: naming a missing list says it cannot read it", async () => {
    await expect(expectedChecksum("file:nope", "x.iso", (p) => join(dir, p))).rejects.toThrow(
      refusal(`iso_checksum: cannot read checksum file ${join(dir, "nope")}`),
    );
  });
});
