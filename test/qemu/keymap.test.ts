import { describe, expect, test } from "vitest";
import { QKEYCODES, SPECIAL_KEYS, describeChar, findCharQcodes, findSpecialQcode } from "../../src/qemu/keymap.js";

const PRINTABLE_ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
const SHIFTED = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZ", ...'!@#$%^&*()_+{}|:"<>?~'];

describe("findCharQcodes", () => {
  test.each([
    ["a", ["a"]],
    ["z", ["z"]],
    ["A", ["shift", "a"]],
    ["Z", ["shift", "z"]],
    ["0", ["0"]],
    ["9", ["9"]],
    [" ", ["spc"]],
    ["\n", ["ret"]],
    ["\r", ["ret"]],
    ["\t", ["tab"]],
    ["-", ["minus"]],
    ["=", ["equal"]],
    ["[", ["bracket_left"]],
    ["]", ["bracket_right"]],
    ["\\", ["backslash"]],
    [";", ["semicolon"]],
    ["'", ["apostrophe"]],
    ["`", ["grave_accent"]],
    [",", ["comma"]],
    [".", ["dot"]],
    ["/", ["slash"]],
    ["!", ["shift", "1"]],
    ["@", ["shift", "2"]],
    ["#", ["shift", "3"]],
    ["$", ["shift", "4"]],
    ["%", ["shift", "5"]],
    ["^", ["shift", "6"]],
    ["&", ["shift", "7"]],
    ["*", ["shift", "8"]],
    ["(", ["shift", "9"]],
    [")", ["shift", "0"]],
    ["_", ["shift", "minus"]],
    ["+", ["shift", "equal"]],
    ["{", ["shift", "bracket_left"]],
    ["}", ["shift", "bracket_right"]],
    ["|", ["shift", "backslash"]],
    [":", ["shift", "semicolon"]],
    ['"', ["shift", "apostrophe"]],
    ["<", ["shift", "comma"]],
    [">", ["shift", "dot"]],
    ["?", ["shift", "slash"]],
    ["~", ["shift", "grave_accent"]],
  ])("%j types %j", (char, qcodes) => {
    expect(findCharQcodes(char)).toEqual(qcodes);
  });

  test.each(["é", "€", "😀", "\u0007", "\u001b", "\u007f", "\u0000", "ab", ""])("%j has no key", (char) => {
    expect(findCharQcodes(char)).toBeUndefined();
  });

  test("every printable ASCII character maps to valid qcodes, and no two share a key combination", () => {
    const known = new Set(QKEYCODES);
    const byCombination = new Map<string, string>();
    for (const char of PRINTABLE_ASCII) {
      const qcodes = findCharQcodes(char);
      expect(qcodes, `no key for ${JSON.stringify(char)}`).toBeDefined();
      for (const qcode of qcodes ?? []) expect(known.has(qcode), `${qcode} is not a QKeyCode`).toBe(true);
      byCombination.set((qcodes ?? []).join("+"), char);
    }
    // Inverting the map gives back every character: the mapping round-trips.
    expect([...byCombination.values()].sort()).toEqual([...PRINTABLE_ASCII].sort());
  });

  test("exactly the US shifted characters use shift, and shift comes first", () => {
    const shifted = PRINTABLE_ASCII.filter((char) => findCharQcodes(char)?.includes("shift"));
    expect(shifted.sort()).toEqual([...SHIFTED].sort());
    for (const char of shifted) {
      expect(findCharQcodes(char)).toHaveLength(2);
      expect(findCharQcodes(char)?.[0]).toBe("shift");
    }
  });
});

describe("findSpecialQcode", () => {
  test.each([
    ["bs", "backspace"],
    ["del", "delete"],
    ["enter", "ret"],
    ["return", "ret"],
    ["esc", "esc"],
    ["tab", "tab"],
    ["spacebar", "spc"],
    ["insert", "insert"],
    ["home", "home"],
    ["end", "end"],
    ["pageUp", "pgup"],
    ["pageDown", "pgdn"],
    ["menu", "compose"],
    ["up", "up"],
    ["down", "down"],
    ["left", "left"],
    ["right", "right"],
    ["f1", "f1"],
    ["f10", "f10"],
    ["F12", "f12"],
    ["leftAlt", "alt"],
    ["leftCtrl", "ctrl"],
    ["leftShift", "shift"],
    ["leftSuper", "meta_l"],
    ["leftMeta", "meta_l"],
    ["rightAlt", "alt_r"],
    ["rightCtrl", "ctrl_r"],
    ["rightShift", "shift_r"],
    ["rightSuper", "meta_r"],
    ["rightMeta", "meta_r"],
    ["leftCommand", "alt"],
    ["rightCommand", "alt_r"],
    ["leftOption", "alt"],
    ["rightOption", "alt_r"],
    ["PAGEUP", "pgup"],
    ["LeftAlt", "alt"],
  ])("<%s> is %s", (name, qcode) => {
    expect(findSpecialQcode(name)).toBe(qcode);
  });

  test.each(["f13", "f0", "enterr", "space", "ctrl", "wait", ""])("<%s> is not a special key", (name) => {
    expect(findSpecialQcode(name)).toBeUndefined();
  });

  // packer-plugin-sdk bootcommand/boot_command.pigeon, rule SpecialKey (v0.6), copied by hand:
  // a key Packer knows that tsimg lacks would be typed as literal text.
  const PACKER_SPECIAL_KEYS = [
    "bs",
    "del",
    "enter",
    "esc",
    "f10",
    "f11",
    "f12",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "f6",
    "f7",
    "f8",
    "f9",
    "return",
    "tab",
    "up",
    "down",
    "spacebar",
    "insert",
    "home",
    "end",
    "pageUp",
    "pageDown",
    "leftAlt",
    "leftCtrl",
    "leftShift",
    "rightAlt",
    "rightCtrl",
    "rightShift",
    "leftSuper",
    "rightSuper",
    "leftCommand",
    "rightCommand",
    "leftOption",
    "rightOption",
    "left",
    "right",
    "menu",
  ];
  test.each(PACKER_SPECIAL_KEYS)("Packer's <%s> is a special key, in any case", (name) => {
    expect(findSpecialQcode(name)).toBeDefined();
    expect(findSpecialQcode(name.toUpperCase())).toBe(findSpecialQcode(name));
  });

  test("every special key maps to a QKeyCode, and F1-F12 are all there", () => {
    const known = new Set(QKEYCODES);
    for (const [name, qcode] of SPECIAL_KEYS) expect(known.has(qcode), `${name} -> ${qcode}`).toBe(true);
    for (let n = 1; n <= 12; n++) expect(findSpecialQcode(`f${n}`)).toBe(`f${n}`);
    expect(SPECIAL_KEYS.size).toBe(43);
  });
});

describe("describeChar", () => {
  test.each([
    ["é", '"é" (U+00E9)'],
    ["😀", '"😀" (U+1F600)'],
    ["\u0007", "control character U+0007"],
    ["\u007f", "control character U+007F"],
  ])("%j is described as %s", (char, description) => {
    expect(describeChar(char)).toBe(description);
  });
});
