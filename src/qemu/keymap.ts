// Key names for QMP `send-key` / `input-send-event`: QEMU's QKeyCode enum
// (qapi/ui.json), a US keyboard layout for literal text, and the qcodes behind
// Packer's boot_command special keys.

/** Every QKeyCode QEMU knows (qapi/ui.json, QEMU 8+), in enum order. */
export const QKEYCODES: readonly string[] = [
  "unmapped",
  "shift",
  "shift_r",
  "alt",
  "alt_r",
  "ctrl",
  "ctrl_r",
  "menu",
  "esc",
  "1",
  "2",
  "3",
  "4",
  "5",
  "6",
  "7",
  "8",
  "9",
  "0",
  "minus",
  "equal",
  "backspace",
  "tab",
  "q",
  "w",
  "e",
  "r",
  "t",
  "y",
  "u",
  "i",
  "o",
  "p",
  "bracket_left",
  "bracket_right",
  "ret",
  "a",
  "s",
  "d",
  "f",
  "g",
  "h",
  "j",
  "k",
  "l",
  "semicolon",
  "apostrophe",
  "grave_accent",
  "backslash",
  "z",
  "x",
  "c",
  "v",
  "b",
  "n",
  "m",
  "comma",
  "dot",
  "slash",
  "asterisk",
  "spc",
  "caps_lock",
  "f1",
  "f2",
  "f3",
  "f4",
  "f5",
  "f6",
  "f7",
  "f8",
  "f9",
  "f10",
  "num_lock",
  "scroll_lock",
  "kp_divide",
  "kp_multiply",
  "kp_subtract",
  "kp_add",
  "kp_enter",
  "kp_decimal",
  "sysrq",
  "kp_0",
  "kp_1",
  "kp_2",
  "kp_3",
  "kp_4",
  "kp_5",
  "kp_6",
  "kp_7",
  "kp_8",
  "kp_9",
  "less",
  "f11",
  "f12",
  "print",
  "home",
  "pgup",
  "pgdn",
  "end",
  "left",
  "up",
  "down",
  "right",
  "insert",
  "delete",
  "stop",
  "again",
  "props",
  "undo",
  "front",
  "copy",
  "open",
  "paste",
  "find",
  "cut",
  "lf",
  "help",
  "meta_l",
  "meta_r",
  "compose",
  "pause",
  "ro",
  "hiragana",
  "henkan",
  "yen",
  "muhenkan",
  "katakanahiragana",
  "kp_comma",
  "kp_equals",
  "power",
  "sleep",
  "wake",
  "audionext",
  "audioprev",
  "audiostop",
  "audioplay",
  "audiomute",
  "volumeup",
  "volumedown",
  "mediaselect",
  "mail",
  "calculator",
  "computer",
  "ac_home",
  "ac_back",
  "ac_forward",
  "ac_refresh",
  "ac_bookmarks",
  "lang1",
  "lang2",
  "f13",
  "f14",
  "f15",
  "f16",
  "f17",
  "f18",
  "f19",
  "f20",
  "f21",
  "f22",
  "f23",
  "f24",
];

/**
 * Packer's boot_command special keys (lower-cased name -> qcode), from packer-plugin-sdk's
 * bootcommand grammar. Older Packer also accepted `leftMeta`/`rightMeta` (undocumented); they
 * are the same keys as Super. `<menu>` is the PC's Menu (application) key, QEMU's `compose`
 * (e0 5d); QEMU's `menu` qcode is a different key that PC guests ignore. Packer's Mac names
 * `<leftCommand>`/`<leftOption>` (and right) are Alt on a PC: its qemu builder sends X11
 * Alt_L/Alt_R for Command and Meta_L/Meta_R for Option over VNC, and QEMU makes both Alt.
 */
export const SPECIAL_KEYS: ReadonlyMap<string, string> = new Map([
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
  ["pageup", "pgup"],
  ["pagedown", "pgdn"],
  ["menu", "compose"],
  ["up", "up"],
  ["down", "down"],
  ["left", "left"],
  ["right", "right"],
  ["f1", "f1"],
  ["f2", "f2"],
  ["f3", "f3"],
  ["f4", "f4"],
  ["f5", "f5"],
  ["f6", "f6"],
  ["f7", "f7"],
  ["f8", "f8"],
  ["f9", "f9"],
  ["f10", "f10"],
  ["f11", "f11"],
  ["f12", "f12"],
  ["leftalt", "alt"],
  ["leftctrl", "ctrl"],
  ["leftshift", "shift"],
  ["leftsuper", "meta_l"],
  ["leftmeta", "meta_l"],
  ["rightalt", "alt_r"],
  ["rightctrl", "ctrl_r"],
  ["rightshift", "shift_r"],
  ["rightsuper", "meta_r"],
  ["rightmeta", "meta_r"],
  ["leftcommand", "alt"],
  ["rightcommand", "alt_r"],
  ["leftoption", "alt"],
  ["rightoption", "alt_r"],
]);

// Unshifted and shifted punctuation on a US keyboard, by the key that types it.
const PUNCTUATION: ReadonlyArray<[plain: string, shifted: string, qcode: string]> = [
  ["1", "!", "1"],
  ["2", "@", "2"],
  ["3", "#", "3"],
  ["4", "$", "4"],
  ["5", "%", "5"],
  ["6", "^", "6"],
  ["7", "&", "7"],
  ["8", "*", "8"],
  ["9", "(", "9"],
  ["0", ")", "0"],
  ["-", "_", "minus"],
  ["=", "+", "equal"],
  ["[", "{", "bracket_left"],
  ["]", "}", "bracket_right"],
  ["\\", "|", "backslash"],
  [";", ":", "semicolon"],
  ["'", '"', "apostrophe"],
  ["`", "~", "grave_accent"],
  [",", "<", "comma"],
  [".", ">", "dot"],
  ["/", "?", "slash"],
];

const CHAR_KEYS: ReadonlyMap<string, readonly string[]> = buildCharKeys();

function buildCharKeys(): Map<string, readonly string[]> {
  const keys = new Map<string, readonly string[]>([
    [" ", ["spc"]],
    ["\n", ["ret"]],
    ["\r", ["ret"]],
    ["\t", ["tab"]],
  ]);
  for (let code = 97; code <= 122; code++) {
    const letter = String.fromCharCode(code);
    keys.set(letter, [letter]);
    keys.set(letter.toUpperCase(), ["shift", letter]);
  }
  for (const [plain, shifted, qcode] of PUNCTUATION) {
    keys.set(plain, [qcode]);
    keys.set(shifted, ["shift", qcode]);
  }
  return keys;
}

/**
 * The qcodes that type `char` on a US layout, modifiers first (`"A"` -> `["shift", "a"]`),
 * or undefined when no key types it (non-ASCII, control characters other than \n \r \t).
 */
export function findCharQcodes(char: string): readonly string[] | undefined {
  return CHAR_KEYS.get(char);
}

/** The qcode of a Packer special key name, case-insensitive (`"pageUp"` -> `"pgup"`). */
export function findSpecialQcode(name: string): string | undefined {
  return SPECIAL_KEYS.get(name.toLowerCase());
}

/** Names a character for an error message: `"é" (U+00E9)`, or `U+0007` for control characters. */
export function describeChar(char: string): string {
  const codePoint = `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
  return /\p{Cc}/u.test(char) ? `control character ${codePoint}` : `"${char}" (${codePoint})`;
}
