// The kickstart the guest fetches sets the password tsimg then logs in with. If it differs from
// ssh_password, the installer runs to the end (20 minutes for Rocky) and the build then waits for
// SSH until ssh_timeout. Packer finds out that late; tsimg compares the two when the template is
// loaded and refuses the mismatch before anything boots. This matters for templates that serve
// the kickstart with file(), as the users' Rocky 9 template does: nothing else ties the two.
import { readFileSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Problem } from "../core/check-options.js";

/** What the check reads of `[source]`. */
export interface LoginSource {
  communicator: string;
  ssh_username?: string;
  ssh_password?: string;
  boot_command?: string[];
  http_content?: Record<string, string>;
  http_directory?: string;
}

/** A plaintext password the kickstart sets, and the line that sets it. */
interface KickstartPassword {
  password: string;
  line: number;
  command: "rootpw" | "user";
}

// A kickstart over tsimg's HTTP server: inst.ks= (or ks=) http://{{ .HTTPIP }}:{{ .HTTPPort }}/path
const KICKSTART_URL = /\b(?:inst\.)?ks=https?:\/\/\{\{\s*\.HTTPIP\s*\}\}:\{\{\s*\.HTTPPort\s*\}\}(\/[^\s<"']*)/;
// Scripts that may set a password another way: then the kickstart's own line proves nothing.
const SETS_PASSWORD_ELSEWHERE = /\b(chpasswd|passwd|usermod)\b/;
const SCRIPT_SECTIONS = new Set(["pre", "pre-install", "post", "onerror", "traceback"]);
const MAX_KICKSTART_BYTES = 1024 * 1024;

/** Adds a problem when the kickstart in boot_command sets ssh_username's password to something other than ssh_password. */
export function checkKickstartPassword(source: LoginSource, problems: Problem[]): void {
  const { ssh_username: user, ssh_password: password } = source;
  if (source.communicator !== "ssh" || !user || !password) return;
  const path = KICKSTART_URL.exec((source.boot_command ?? []).join(""))?.[1];
  if (!path) return;
  const text = servedText(source, path);
  if (text === undefined) return;
  const set = kickstartPassword(text, user);
  if (!set || set.password === password) return;
  const what = set.command === "rootpw" ? "root" : `"${user}"`;
  problems.push({
    path: ["source", "ssh_password"],
    message:
      `ssh_password is not the password the kickstart served at ${path} gives ${what} ` +
      `(${set.command}, its line ${set.line}): the installed system would refuse the login and the build ` +
      `would wait for SSH until ssh_timeout. Make them the same, or serve the kickstart with templatefile() ` +
      `and the same variable (docs/migrating-from-packer.md, "The root password")`,
  });
}

/** The text served at a URL path, from http_content or inside http_directory; undefined if neither has it. */
function servedText(source: LoginSource, urlPath: string): string | undefined {
  const content = source.http_content?.[urlPath];
  if (content !== undefined) return content;
  if (!source.http_directory) return undefined;
  const file = resolve(source.http_directory, `.${decodeURIComponent(urlPath)}`);
  if (relative(source.http_directory, file).startsWith("..")) return undefined;
  try {
    if (statSync(file).size > MAX_KICKSTART_BYTES) return undefined;
    return readFileSync(file, "utf8");
  } catch {
    return undefined; // not there (yet): the HTTP server reports the 404 if the guest asks for it
  }
}

/**
 * The plaintext password a kickstart gives `user`: `rootpw` for root, `user --name=...` for
 * anyone else; the last such line wins, as in Anaconda. Undefined when it is hashed
 * (--iscrypted), absent, or may be set elsewhere (%include, or a %pre/%post script that
 * runs passwd, chpasswd or usermod).
 */
export function kickstartPassword(text: string, user: string): KickstartPassword | undefined {
  let found: KickstartPassword | undefined;
  let section: string | undefined; // %post, %packages...: until %end, not commands
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    const opens = /^%([a-z-]+)/.exec(line)?.[1];
    if (opens === "include" || opens === "ksappend") return undefined; // the password may be in that file
    if (opens) {
      section = opens === "end" ? undefined : opens;
      continue;
    }
    if (section) {
      if (SCRIPT_SECTIONS.has(section) && SETS_PASSWORD_ELSEWHERE.test(line)) return undefined;
      continue;
    }
    const [command, ...args] = shellWords(line);
    const set =
      command === "rootpw" && user === "root" ? rootpw(args) : command === "user" ? userPassword(args, user) : null;
    if (set === undefined) found = undefined;
    else if (set !== null) found = { password: set, line: index + 1, command: command as "rootpw" | "user" };
  }
  return found;
}

/** rootpw's password; undefined when hashed or missing. */
function rootpw(args: string[]): string | undefined {
  if (args.includes("--iscrypted")) return undefined;
  return args.find((a) => !a.startsWith("--"));
}

/** The user line's password if it is for `user`; null for another user's line. */
function userPassword(args: string[], user: string): string | undefined | null {
  const option = (name: string) => {
    const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return args[i]!.includes("=") ? args[i]!.slice(name.length + 3) : args[i + 1];
  };
  if (option("name") !== user) return null;
  return args.includes("--iscrypted") ? undefined : option("password");
}

/** A line split into words as a shell (and pykickstart's shlex) would: quotes group, # starts a comment. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const char of line) {
    if (quote) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      word ??= "";
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (char === "#" && word === undefined) {
      break;
    } else {
      word = (word ?? "") + char;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
