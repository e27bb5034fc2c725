// Parses Packer's boot_command syntax into key and wait actions for QMP.
//
// Grammar (packer-plugin-sdk bootcommand/boot_command.pigeon), tried in this order at each `<`:
//   <wait> <wait5> <wait1m30s>   wait 1 s, N seconds, or a Go duration ("wait" is case-sensitive)
//   <cOn> <cOff>                 hold / release any single character, e.g. <aOn>, <%Off>
//   <enter> <leftAltOn> <f1Off>  a special key (case-insensitive), tapped, held (On) or released (Off)
//   anything else                typed literally, one key per character
//
// Error vs literal. Packer types every unrecognised `<...>` literally, which turns a typo such as
// `<entr>` into garbage typed at an installer prompt. We are stricter only where a tag was clearly
// meant as a key or a wait:
//   - `<wait...>` (any case) that is not a valid positive wait is an error, and so is one longer
//     than a Go duration holds (`<wait3000000h>`), which Packer refuses too;
//   - `<name>` (letters and digits only, optional On/Off) that is a common alias (`<ctrl>`,
//     `<space>`), `<fN>`, or a near miss of a key name is an error with a did-you-mean. A near miss
//     is one edit from a 4-6 letter name (`<entr>`) or two from a longer one (`<lefAlt>`); 2-3
//     letter names (`bs`, `up`, `end`) must match exactly, else `<is>` or `<and>` would be errors;
//   - everything else stays literal like Packer: `a < b`, `<3`, `<foo>`, `<is>`, `<a|b>`, `<wait 5>`.
import { TsimgError } from "../core/errors.js";
import { editDistance } from "../core/did-you-mean.js";
import { describeChar, findCharQcodes, findSpecialQcode } from "./keymap.js";

/** One step of a boot command. Qcodes are QEMU QKeyCode names; `ms` may be fractional. */
export type BootAction =
  | { kind: "press"; qcodes: string[] } // tap: press all (modifiers first), release in reverse
  | { kind: "down"; qcode: string } // hold a key: <leftAltOn>
  | { kind: "up"; qcode: string } // release a held key: <leftAltOff>
  | { kind: "wait"; ms: number };

/** A boot_command that cannot be typed. `index` is the 0-based offset into the joined command. */
export class BootCommandError extends TsimgError {
  readonly index: number;
  readonly token: string;

  constructor(message: string, index: number, token: string) {
    super(message);
    this.index = index;
    this.token = token;
  }
}

interface Source {
  text: string;
  /** "character 12 of boot_command" or "character 3 of boot_command[1]" for a 0-based index. */
  locate(index: number): string;
}

interface Step {
  actions: BootAction[];
  end: number;
}

/** Parses a boot_command; array entries are joined with no separator, as Packer does. */
export function parseBootCommand(input: string | string[]): BootAction[] {
  const source = openSource(input);
  const { text } = source;
  const actions: BootAction[] = [];
  let i = 0;
  while (i < text.length) {
    const step = text[i] === "<" ? parseAngle(source, i) : undefined;
    if (step) {
      actions.push(...step.actions);
      i = step.end;
      continue;
    }
    const char = String.fromCodePoint(text.codePointAt(i) ?? 0);
    // A CRLF line ending (a template edited on Windows) is one Enter, not two.
    if (!(char === "\r" && text[i + 1] === "\n")) {
      actions.push({ kind: "press", qcodes: [...requireCharQcodes(source, char, i)] });
    }
    i += char.length;
  }
  return actions;
}

/** Counts what a boot command will do, for logging: key taps and holds, and total wait. */
export function describeBootCommand(actions: BootAction[]): { keys: number; waitMs: number } {
  let keys = 0;
  let waitMs = 0;
  for (const action of actions) {
    if (action.kind === "press" || action.kind === "down") keys++;
    else if (action.kind === "wait") waitMs += action.ms;
  }
  return { keys, waitMs };
}

function openSource(input: string | string[]): Source {
  const entries = typeof input === "string" ? [input] : input;
  const text = entries.join("");
  const locate = (index: number): string => {
    if (typeof input === "string") return `character ${index + 1} of boot_command`;
    let start = 0;
    for (const [n, entry] of entries.entries()) {
      if (index < start + entry.length) return `character ${index - start + 1} of boot_command[${n}]`;
      start += entry.length;
    }
    return `character ${index + 1} of boot_command`;
  };
  return { text, locate };
}

const CHAR_TOGGLE = /<(.)(on|off)>/isuy;
const TAG = /<([A-Za-z][^<>\s]*)>/y;

// Returns undefined when the `<` at `start` is literal text.
function parseAngle(source: Source, start: number): Step | undefined {
  CHAR_TOGGLE.lastIndex = start;
  const toggle = CHAR_TOGGLE.exec(source.text);
  if (toggle) {
    const qcodes = requireCharQcodes(source, toggle[1] ?? "", start + 1);
    return { actions: holdOrRelease(qcodes, isOn(toggle[2])), end: CHAR_TOGGLE.lastIndex };
  }
  TAG.lastIndex = start;
  const tag = TAG.exec(source.text);
  if (!tag) return undefined;
  const [token, word = ""] = tag;
  const end = TAG.lastIndex;
  if (/^wait/i.test(word)) return { actions: [{ kind: "wait", ms: parseWait(source, word, start, token) }], end };
  const special = parseSpecial(word);
  if (special) return { actions: [special], end };
  const complaint = diagnoseUnknownKey(word);
  if (complaint)
    throw new BootCommandError(`unknown key "${token}" at ${source.locate(start)}; ${complaint}`, start, token);
  return undefined;
}

function isOn(suffix: string | undefined): boolean {
  return suffix?.toLowerCase() === "on";
}

// Holding a shifted character presses Shift first; releasing it lets Shift go last.
function holdOrRelease(qcodes: readonly string[], on: boolean): BootAction[] {
  if (on) return qcodes.map((qcode) => ({ kind: "down", qcode }));
  return [...qcodes].reverse().map((qcode) => ({ kind: "up", qcode }));
}

function requireCharQcodes(source: Source, char: string, index: number): readonly string[] {
  const qcodes = findCharQcodes(char);
  if (qcodes) return qcodes;
  const hint = /\p{Cc}/u.test(char)
    ? "use a special key such as <esc> or <bs> instead"
    : "only ASCII characters can be typed (US keyboard layout)";
  throw new BootCommandError(`cannot type ${describeChar(char)} at ${source.locate(index)}; ${hint}`, index, char);
}

// `<enter>` taps, `<enterOn>` holds, `<enterOff>` releases; names are case-insensitive.
function parseSpecial(word: string): BootAction | undefined {
  const qcode = findSpecialQcode(word);
  if (qcode) return { kind: "press", qcodes: [qcode] };
  const { base, suffix } = splitOnOff(word);
  const held = suffix ? findSpecialQcode(base) : undefined;
  if (!held) return undefined;
  return { kind: isOn(suffix) ? "down" : "up", qcode: held };
}

function splitOnOff(word: string): { base: string; suffix: string } {
  const match = /^(.+?)(on|off)$/i.exec(word);
  return match ? { base: match[1] ?? "", suffix: match[2] ?? "" } : { base: word, suffix: "" };
}

const KEY_NAMES = [
  "bs",
  "del",
  "enter",
  "return",
  "esc",
  "tab",
  "spacebar",
  "insert",
  "home",
  "end",
  "pageUp",
  "pageDown",
  "menu",
  "up",
  "down",
  "left",
  "right",
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
  "f11",
  "f12",
  "leftAlt",
  "leftCtrl",
  "leftShift",
  "leftSuper",
  "leftMeta",
  "rightAlt",
  "rightCtrl",
  "rightShift",
  "rightSuper",
  "rightMeta",
  "leftCommand",
  "rightCommand",
  "leftOption",
  "rightOption",
];

// Names people reach for (from other tools or QEMU's own qcodes) and what Packer calls them.
const KEY_ALIASES: ReadonlyMap<string, string> = new Map([
  ["ctrl", "leftCtrl"],
  ["control", "leftCtrl"],
  ["alt", "leftAlt"],
  ["shift", "leftShift"],
  ["super", "leftSuper"],
  ["win", "leftSuper"],
  ["meta", "leftSuper"],
  ["space", "spacebar"],
  ["spc", "spacebar"],
  ["backspace", "bs"],
  ["escape", "esc"],
  ["delete", "del"],
  ["ret", "enter"],
  ["pgup", "pageUp"],
  ["pgdn", "pageDown"],
  ["pagedn", "pageDown"],
  ["ins", "insert"],
]);

// A reason the word was meant as a key, or undefined if it is ordinary text to type literally.
function diagnoseUnknownKey(word: string): string | undefined {
  if (!/^[a-z0-9]{2,}$/i.test(word)) return undefined;
  const { base, suffix } = splitOnOff(word);
  // A held key first: `<rightOptonOn>` means <rightOptionOn>, though it is also 2 edits from <rightOption>.
  const readings = suffix ? [{ name: base, toggle: isOn(suffix) ? "On" : "Off" }] : [];
  readings.push({ name: word, toggle: "" });
  for (const { name, toggle } of readings) {
    const lower = name.toLowerCase();
    if (/^f\d+$/.test(lower)) return "function keys go from <f1> to <f12>";
    const alias = KEY_ALIASES.get(lower);
    if (alias) return `did you mean "<${alias}${toggle}>"?`;
    const near = findNearestKeyName(lower);
    if (near) return `did you mean "<${near}${toggle}>"?`;
  }
  return undefined;
}

function findNearestKeyName(lower: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of KEY_NAMES) {
    const distance = editDistance(lower, name.toLowerCase());
    // Short names are one edit away from ordinary words (<is> vs <bs>), so they must match exactly.
    const allowed = name.length <= 3 ? 0 : name.length <= 6 ? 1 : 2;
    if (distance <= allowed && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

// Packer: `<wait>` is 1 s, `<waitN>` is N whole seconds, else a Go duration such as 1m30s.
const WHOLE_SECONDS = /^(0|[1-9]\d*)$/;
const GO_DURATION = /^-?(?:(?:0|[1-9]\d*)(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

function parseWait(source: Source, word: string, start: number, token: string): number {
  const fail = (why: string): never => {
    throw new BootCommandError(`invalid wait "${token}" at ${source.locate(start)}; ${why}`, start, token);
  };
  const rest = word.slice(4);
  const ms = word.startsWith("wait") ? measureWait(rest) : undefined;
  if (ms === undefined) {
    const repaired = repairWait(rest);
    if (repaired !== undefined) fail(`did you mean "<wait${repaired}>"?`);
    fail("expected <wait>, <wait5> (seconds) or a Go duration like <wait1m30s> or <wait500ms>");
  }
  if (ms === undefined || ms <= 0) return fail("the duration must be positive");
  if (ms > MAX_WAIT_MS) return fail("longer than the longest wait Packer accepts, 2562047h47m16s (292 years)");
  return ms;
}

// Packer parses a wait into a Go time.Duration (int64 nanoseconds, at most 2^63 - 1) and refuses anything longer.
const MAX_WAIT_MS = (2 ** 63 - 1) / 1e6;

// Milliseconds for the text after "wait", or undefined if Packer's grammar would not accept it.
function measureWait(rest: string): number | undefined {
  if (rest === "") return 1000;
  if (WHOLE_SECONDS.test(rest)) return Number(rest) * 1000;
  if (!GO_DURATION.test(rest)) return undefined;
  let ns = 0;
  for (const [, value, unit] of rest.matchAll(DURATION_PART)) ns += Number(value) * (UNIT_NS[unit ?? ""] ?? 0);
  return ((rest.startsWith("-") ? -1 : 1) * Math.round(ns)) / 1e6;
}

const UNIT_ALIASES: Readonly<Record<string, string>> = {
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
  min: "m",
  mins: "m",
  minute: "m",
  minutes: "m",
  hr: "h",
  hrs: "h",
  hour: "h",
  hours: "h",
  msec: "ms",
  msecs: "ms",
  millisecond: "ms",
  milliseconds: "ms",
};

// A valid spelling of a near-miss wait (`WAIT`, `5S`, `5sec`, `05`, `1.5`), or undefined.
function repairWait(rest: string): string | undefined {
  const lower = rest.toLowerCase().replace(/μ/g, "µ");
  const parts = [...lower.matchAll(/(\d+(?:\.\d+)?)([a-zµ]*)/g)];
  if (parts.map((p) => p[0]).join("") !== lower) return undefined;
  const repaired = parts
    .map(
      ([, value = "", unit = ""]) =>
        `${Number(value)}${UNIT_ALIASES[unit] ?? (unit === "" && value.includes(".") ? "s" : unit)}`,
    )
    .join("");
  return measureWait(repaired) ? repaired : undefined;
}
