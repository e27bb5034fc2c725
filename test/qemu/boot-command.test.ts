import { describe, expect, test } from "vitest";
import {
  BootCommandError,
  describeBootCommand,
  parseBootCommand,
  type BootAction,
} from "../../src/qemu/boot-command.js";

// Expected actions are spelled out here, independently of keymap.ts.
const PUNCTUATION: Record<string, string[]> = {
  " ": ["spc"],
  ".": ["dot"],
  "=": ["equal"],
  ",": ["comma"],
  "/": ["slash"],
  "-": ["minus"],
  ":": ["shift", "semicolon"],
  "<": ["shift", "comma"],
  ">": ["shift", "dot"],
  "|": ["shift", "backslash"],
  "{": ["shift", "bracket_left"],
  '"': ["shift", "apostrophe"],
  "~": ["shift", "grave_accent"],
};

function type(text: string): BootAction[] {
  return [...text].map((char) => {
    if (/[a-z0-9]/.test(char)) return { kind: "press", qcodes: [char] };
    if (/[A-Z]/.test(char)) return { kind: "press", qcodes: ["shift", char.toLowerCase()] };
    const qcodes = PUNCTUATION[char];
    if (!qcodes) throw new Error(`test helper has no key for ${JSON.stringify(char)}`);
    return { kind: "press", qcodes };
  });
}
const tap = (qcode: string): BootAction => ({ kind: "press", qcodes: [qcode] });
const down = (qcode: string): BootAction => ({ kind: "down", qcode });
const up = (qcode: string): BootAction => ({ kind: "up", qcode });
const wait = (ms: number): BootAction => ({ kind: "wait", ms });

describe("parseBootCommand", () => {
  test("types the Rocky 9 boot command", () => {
    const rocky9 =
      "<tab> inst.text console=ttyS0,115200n8 inst.ks=http://10.0.2.2:8123/ks/rocky9.ks nameserver=1.1.1.1 <enter><wait>";
    expect(parseBootCommand(rocky9)).toEqual([
      tap("tab"),
      ...type(" inst.text console=ttyS0,115200n8 inst.ks=http://10.0.2.2:8123/ks/rocky9.ks nameserver=1.1.1.1 "),
      tap("ret"),
      wait(1000),
    ]);
  });

  test.each<[string, string | string[], BootAction[]]>([
    ["empty input", "", []],
    ["empty array", [], []],
    ["lower and upper case", "aZ", [tap("a"), { kind: "press", qcodes: ["shift", "z"] }]],
    ["shifted punctuation", ':"|~{', type(':"|~{')],
    ["a comparison", "a < b", type("a < b")],
    ["a heart", "<3", type("<3")],
    ["a lone <", "<", type("<")],
    ["a lone >", ">", type(">")],
    ["empty brackets", "<>", type("<>")],
    ["a tag that is not a key (Packer types it)", "<foo>", type("<foo>")],
    ["a word near a 2-letter key", "<is>", type("<is>")],
    // 3-letter key names must match exactly: `<and>` is one edit from <end>, `<tap>` from <tab>.
    ["a word near a 3-letter key", "<and>", type("<and>")],
    ["another word near a 3-letter key", "<tap>", type("<tap>")],
    // 4-6 letter names allow one edit: `<after>` is two from <enter>, so it is text.
    ["a word two edits from a 5-letter key", "<after>", type("<after>")],
    ["a tag with punctuation", "<a|b>", type("<a|b>")],
    ["a tag with a space", "<wait 5>", type("<wait 5>")],
    ["a < before a key", "<<enter>", [...type("<"), tap("ret")]],
    ["a newline", "a\nb", [tap("a"), tap("ret"), tap("b")]],
    ["a CRLF line ending as one Enter", "a\r\nb", [tap("a"), tap("ret"), tap("b")]],
    ["a tab character", "\t", [tap("tab")]],
    [
      "array entries joined without separator",
      ["<tab><wait>", " ks=x<enter>"],
      [tap("tab"), wait(1000), ...type(" ks=x"), tap("ret")],
    ],
    ["a key split across entries", ["<ent", "er>"], [tap("ret")]],
  ])("literal text: %s", (_name, input, expected) => {
    expect(parseBootCommand(input)).toEqual(expected);
  });

  test.each<[string, string]>([
    ["<bs>", "backspace"],
    ["<del>", "delete"],
    ["<enter>", "ret"],
    ["<return>", "ret"],
    ["<esc>", "esc"],
    ["<tab>", "tab"],
    ["<spacebar>", "spc"],
    ["<insert>", "insert"],
    ["<home>", "home"],
    ["<end>", "end"],
    ["<pageUp>", "pgup"],
    ["<pageDown>", "pgdn"],
    ["<menu>", "compose"],
    ["<up>", "up"],
    ["<down>", "down"],
    ["<left>", "left"],
    ["<right>", "right"],
    ["<f1>", "f1"],
    ["<f5>", "f5"],
    ["<f10>", "f10"],
    ["<f12>", "f12"],
    ["<leftAlt>", "alt"],
    ["<leftCtrl>", "ctrl"],
    ["<leftShift>", "shift"],
    ["<leftSuper>", "meta_l"],
    ["<leftMeta>", "meta_l"],
    ["<rightAlt>", "alt_r"],
    ["<rightCtrl>", "ctrl_r"],
    ["<rightShift>", "shift_r"],
    ["<rightSuper>", "meta_r"],
    ["<rightMeta>", "meta_r"],
    // Packer's Mac names; its qemu builder makes all four Alt (X11 Alt_L/R and Meta_L/R over VNC).
    ["<leftCommand>", "alt"],
    ["<rightCommand>", "alt_r"],
    ["<leftOption>", "alt"],
    ["<rightOption>", "alt_r"],
    ["<LEFTCOMMAND>", "alt"],
    ["<rightoption>", "alt_r"],
    ["<ENTER>", "ret"],
    ["<Enter>", "ret"],
    ["<PAGEUP>", "pgup"],
    ["<pagedown>", "pgdn"],
    ["<F1>", "f1"],
  ])("special key %s taps %s", (input, qcode) => {
    expect(parseBootCommand(input)).toEqual([tap(qcode)]);
  });

  test.each<[string, BootAction[]]>([
    ["<leftAltOn><f2><leftAltOff>", [down("alt"), tap("f2"), up("alt")]],
    ["<leftCtrlOn>c<leftCtrlOff>", [down("ctrl"), tap("c"), up("ctrl")]],
    ["<delon><delON><deLoN><DELOFF>", [down("delete"), down("delete"), down("delete"), up("delete")]],
    ["<enterOff>", [up("ret")]],
    ["<f1On><f12Off>", [down("f1"), up("f12")]],
    ["<rightSuperOn><spacebarOff>", [down("meta_r"), up("spc")]],
    ["<leftOn>", [down("left")]],
    ["<cOn><cOff>", [down("c"), up("c")]],
    ["<fon> b<fOff>", [down("f"), tap("spc"), tap("b"), up("f")]],
    ["<AOn><AOff>", [down("shift"), down("a"), up("a"), up("shift")]],
    ["<%On>", [down("shift"), down("5")]],
    ["<<On>", [down("shift"), down("comma")]],
    ["< On>", [down("spc")]],
    ["<1off>", [up("1")]],
    ["<leftCommandOn>q<leftCommandOff>", [down("alt"), tap("q"), up("alt")]],
    ["<rightOptionON><RIGHTOPTIONoff>", [down("alt_r"), up("alt_r")]],
  ])("hold and release: %s", (input, expected) => {
    expect(parseBootCommand(input)).toEqual(expected);
  });

  test.each<[string, number]>([
    ["<wait>", 1000],
    ["<wait5>", 5000],
    ["<wait10>", 10_000],
    ["<wait20>", 20_000],
    ["<wait2s>", 2000],
    ["<wait500ms>", 500],
    ["<wait1m30s>", 90_000],
    ["<wait1.5h>", 5_400_000],
    ["<wait1.1s>", 1100],
    ["<wait2h45m>", 9_900_000],
    ["<wait10us>", 0.01],
    ["<wait10µs>", 0.01],
    ["<wait4m2ns>", 240_000.000002],
    // The longest waits Packer accepts (a Go duration holds 2562047h47m16.854775807s).
    ["<wait2562047h>", 9_223_369_200_000],
    ["<wait9223372036>", 9_223_372_036_000],
  ])("%s waits %d ms", (input, ms) => {
    expect(parseBootCommand(input)).toEqual([wait(ms)]);
  });

  test.each<[string, string | string[], string, number, string]>([
    [
      "a misspelt key",
      "linux text <entr>",
      'unknown key "<entr>" at character 12 of boot_command; did you mean "<enter>"?',
      11,
      "<entr>",
    ],
    [
      "a misspelt long key",
      "<lefAlt>",
      'unknown key "<lefAlt>" at character 1 of boot_command; did you mean "<leftAlt>"?',
      0,
      "<lefAlt>",
    ],
    [
      "a misspelt held key",
      "<lefAltOn>",
      'unknown key "<lefAltOn>" at character 1 of boot_command; did you mean "<leftAltOn>"?',
      0,
      "<lefAltOn>",
    ],
    [
      "a misspelt released key",
      "<entrOFF>",
      'unknown key "<entrOFF>" at character 1 of boot_command; did you mean "<enterOff>"?',
      0,
      "<entrOFF>",
    ],
    // Suggestions know every key, the Mac names too (a key missing from the list of names is never suggested).
    [
      "a misspelt Mac key",
      "<leftComand>",
      'unknown key "<leftComand>" at character 1 of boot_command; did you mean "<leftCommand>"?',
      0,
      "<leftComand>",
    ],
    [
      "a misspelt held Mac key",
      "<rightOptonOn>",
      'unknown key "<rightOptonOn>" at character 1 of boot_command; did you mean "<rightOptionOn>"?',
      0,
      "<rightOptonOn>",
    ],
    [
      "a missing letter",
      "<pageDwn>",
      'unknown key "<pageDwn>" at character 1 of boot_command; did you mean "<pageDown>"?',
      0,
      "<pageDwn>",
    ],
    [
      "an alias",
      "<ctrl>c",
      'unknown key "<ctrl>" at character 1 of boot_command; did you mean "<leftCtrl>"?',
      0,
      "<ctrl>",
    ],
    [
      "a held alias",
      "<ctrlOn>c",
      'unknown key "<ctrlOn>" at character 1 of boot_command; did you mean "<leftCtrlOn>"?',
      0,
      "<ctrlOn>",
    ],
    [
      "a QEMU name",
      "<space>",
      'unknown key "<space>" at character 1 of boot_command; did you mean "<spacebar>"?',
      0,
      "<space>",
    ],
    [
      "F13",
      "ab<f13>",
      'unknown key "<f13>" at character 3 of boot_command; function keys go from <f1> to <f12>',
      2,
      "<f13>",
    ],
    [
      "F0 held",
      "<F0On>",
      'unknown key "<F0On>" at character 1 of boot_command; function keys go from <f1> to <f12>',
      0,
      "<F0On>",
    ],
    [
      "a bad wait unit",
      "<wait1x>",
      'invalid wait "<wait1x>" at character 1 of boot_command; expected <wait>, <wait5> (seconds) or a Go duration like <wait1m30s> or <wait500ms>',
      0,
      "<wait1x>",
    ],
    [
      "a misplaced sign",
      "<wait1m-30s>",
      'invalid wait "<wait1m-30s>" at character 1 of boot_command; expected <wait>, <wait5> (seconds) or a Go duration like <wait1m30s> or <wait500ms>',
      0,
      "<wait1m-30s>",
    ],
    [
      "a wait with On",
      "<waitOn>",
      'invalid wait "<waitOn>" at character 1 of boot_command; expected <wait>, <wait5> (seconds) or a Go duration like <wait1m30s> or <wait500ms>',
      0,
      "<waitOn>",
    ],
    [
      "a capitalised wait",
      "<Wait5>",
      'invalid wait "<Wait5>" at character 1 of boot_command; did you mean "<wait5>"?',
      0,
      "<Wait5>",
    ],
    [
      "an upper-case wait",
      "<WAIT>",
      'invalid wait "<WAIT>" at character 1 of boot_command; did you mean "<wait>"?',
      0,
      "<WAIT>",
    ],
    [
      "an upper-case unit",
      "<wait5S>",
      'invalid wait "<wait5S>" at character 1 of boot_command; did you mean "<wait5s>"?',
      0,
      "<wait5S>",
    ],
    [
      "a spelt-out unit",
      "<wait2min30sec>",
      'invalid wait "<wait2min30sec>" at character 1 of boot_command; did you mean "<wait2m30s>"?',
      0,
      "<wait2min30sec>",
    ],
    [
      "a leading zero",
      "<wait05>",
      'invalid wait "<wait05>" at character 1 of boot_command; did you mean "<wait5>"?',
      0,
      "<wait05>",
    ],
    [
      "fractional seconds",
      "<wait1.5>",
      'invalid wait "<wait1.5>" at character 1 of boot_command; did you mean "<wait1.5s>"?',
      0,
      "<wait1.5>",
    ],
    [
      "a zero wait",
      "<wait0>",
      'invalid wait "<wait0>" at character 1 of boot_command; the duration must be positive',
      0,
      "<wait0>",
    ],
    [
      "seconds Packer cannot parse",
      "<wait99999999999999999999>",
      'invalid wait "<wait99999999999999999999>" at character 1 of boot_command; longer than the longest wait Packer accepts, 2562047h47m16s (292 years)',
      0,
      "<wait99999999999999999999>",
    ],
    [
      "hours past a Go duration",
      "a<wait3000000h>",
      'invalid wait "<wait3000000h>" at character 2 of boot_command; longer than the longest wait Packer accepts, 2562047h47m16s (292 years)',
      1,
      "<wait3000000h>",
    ],
    [
      "seconds past a Go duration",
      "<wait9223372037>",
      'invalid wait "<wait9223372037>" at character 1 of boot_command; longer than the longest wait Packer accepts, 2562047h47m16s (292 years)',
      0,
      "<wait9223372037>",
    ],
    [
      "a negative wait",
      "<wait-1m>",
      'invalid wait "<wait-1m>" at character 1 of boot_command; the duration must be positive',
      0,
      "<wait-1m>",
    ],
    [
      "a non-ASCII letter",
      "café",
      'cannot type "é" (U+00E9) at character 4 of boot_command; only ASCII characters can be typed (US keyboard layout)',
      3,
      "é",
    ],
    [
      "an emoji",
      "ok 😀",
      'cannot type "😀" (U+1F600) at character 4 of boot_command; only ASCII characters can be typed (US keyboard layout)',
      3,
      "😀",
    ],
    [
      "a held non-ASCII letter",
      "<éOn>",
      'cannot type "é" (U+00E9) at character 2 of boot_command; only ASCII characters can be typed (US keyboard layout)',
      1,
      "é",
    ],
    [
      "a control character",
      "a\u001b",
      "cannot type control character U+001B at character 2 of boot_command; use a special key such as <esc> or <bs> instead",
      1,
      "\u001b",
    ],
    [
      "an error in a later entry",
      ["<tab>", "ks=x<entr>"],
      'unknown key "<entr>" at character 5 of boot_command[1]; did you mean "<enter>"?',
      9,
      "<entr>",
    ],
    [
      "an error in the first entry",
      ["é", "<tab>"],
      'cannot type "é" (U+00E9) at character 1 of boot_command[0]; only ASCII characters can be typed (US keyboard layout)',
      0,
      "é",
    ],
  ])("rejects %s", (_name, input, message, index, token) => {
    let caught: unknown;
    try {
      parseBootCommand(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BootCommandError);
    const error = caught as BootCommandError;
    expect(error.message).toBe(message);
    expect(error.index).toBe(index);
    expect(error.token).toBe(token);
    expect(error.name).toBe("BootCommandError");
  });
});

describe("describeBootCommand", () => {
  test.each<[string, string | string[], { keys: number; waitMs: number }]>([
    ["nothing", "", { keys: 0, waitMs: 0 }],
    ["text", "abc", { keys: 3, waitMs: 0 }],
    ["waits add up", "<wait><wait5><wait500ms>", { keys: 0, waitMs: 6500 }],
    ["holds count once, releases not at all", "<leftAltOn><f2><leftAltOff>", { keys: 2, waitMs: 0 }],
    ["Rocky 9", "<tab> inst.text <enter><wait10>", { keys: 13, waitMs: 10_000 }],
  ])("%s", (_name, input, expected) => {
    expect(describeBootCommand(parseBootCommand(input))).toEqual(expected);
  });
});
