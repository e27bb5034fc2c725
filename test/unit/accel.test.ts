import { describe, expect, test } from "vitest";
import { probeFirmware } from "../../src/qemu/accel.js";

describe("probeFirmware", () => {
  const image = probeFirmware();

  test("is a 64 KiB BIOS image", () => {
    expect(image.length).toBe(65_536);
  });

  test("the reset vector at 0xFFF0 is a far jump to F000:0000", () => {
    // EA <offset lo> <offset hi> <segment lo> <segment hi>
    expect([...image.subarray(0xfff0, 0xfff5)]).toEqual([0xea, 0x00, 0x00, 0x00, 0xf0]);
  });

  test("the code at F000:0000 (the image's start) begins with cli", () => {
    expect(image[0]).toBe(0xfa);
  });

  test("the bytes after the reset jump and between the code and the jump are hlt", () => {
    expect([...image.subarray(0xfff5)].every((byte) => byte === 0xf4)).toBe(true);
    expect(image[0xffef]).toBe(0xf4);
    expect(image[0x8000]).toBe(0xf4);
  });

  test("every call returns its own copy", () => {
    const copy = probeFirmware();
    copy[0] = 0;
    expect(probeFirmware()[0]).toBe(0xfa);
  });
});
