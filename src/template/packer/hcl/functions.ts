// The functions Packer 1.9's HCL2 templates may call, with the same names and meanings
// (Packer's functions are cty's standard library plus a few of its own). Relative file paths
// resolve against the working directory, as in Packer. The ones not here are refused by
// name (evaluate.ts's "unknown function" message), never guessed at.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, resolve } from "node:path";
import { readUtf8 } from "../../read-text.js";
import { HclExpressionError } from "./ast.js";
import { evaluate, isObject, toBool, toNumber, toStr, typeName, type HclFunction } from "./evaluate.js";
import { formatDate, goFormat } from "./format.js";
import { parseTemplate } from "./parse.js";

export interface FunctionContext {
  /** Relative paths in file(), templatefile(), abspath()... resolve against it: the working directory. */
  cwd: string;
  now: Date;
  env: NodeJS.ProcessEnv;
  /** Told each file() read (tsimg import writes ${file("...")} back for a value that is exactly one). */
  onRead?: (path: string, text: string) => void;
}

const str = (value: unknown, what = "the argument") => toStr(value, what);
const list = (value: unknown, what = "the argument"): unknown[] => {
  if (Array.isArray(value)) return value;
  throw new HclExpressionError(`${what} must be a list, got ${typeName(value)}`);
};
const map = (value: unknown, what = "the argument"): Record<string, unknown> => {
  if (isObject(value)) return value;
  throw new HclExpressionError(`${what} must be a map, got ${typeName(value)}`);
};
function arity(args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max)
    throw new HclExpressionError(
      `takes ${min === max ? min : `${min} to ${max === Infinity ? "any number of" : max}`} argument${max === 1 ? "" : "s"}, got ${args.length}`,
    );
}
const fixed =
  <T extends unknown[]>(count: number, fn: (...args: T) => unknown): HclFunction =>
  (args) => {
    arity(args, count);
    return fn(...(args as T));
  };
const hash = (algorithm: string) => fixed(1, (s: unknown) => createHash(algorithm).update(str(s)).digest("hex"));

/** The functions, bound to a working directory, a clock and an environment. */
export function packerFunctions(context: FunctionContext): Record<string, HclFunction> {
  const path = (p: unknown) => {
    const text = str(p, "the path");
    return resolve(context.cwd, text.startsWith("~/") ? `${homedir()}${text.slice(1)}` : text);
  };
  const readText = (p: unknown) => {
    const full = path(p);
    try {
      return readUtf8(readFileSync(full));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file" : (error as Error).message;
      throw new HclExpressionError(
        `"${str(p)}": ${why}${code === "ENOENT" ? ` ${full} (relative paths start at the working directory; use path.root for the template's folder)` : ""}`,
      );
    }
  };
  const functions: Record<string, HclFunction> = {
    // files and paths
    file: fixed(1, (p: unknown) => {
      const text = readText(p);
      context.onRead?.(path(p), text);
      return text;
    }),
    fileexists: fixed(1, (p: unknown) => existsSync(path(p))),
    templatefile: (args) => {
      arity(args, 2);
      const vars = map(args[1], "templatefile's second argument");
      const { templatefile: _own, ...rest } = functions;
      void _own; // a template may not call templatefile() itself, as in Packer
      return evaluate(parseTemplate(readText(args[0])), { names: vars, functions: rest });
    },
    abspath: fixed(1, (p: unknown) => path(p)),
    basename: fixed(1, (p: unknown) => basename(str(p))),
    dirname: fixed(1, (p: unknown) => dirname(str(p))),
    pathexpand: fixed(1, (p: unknown) => str(p).replace(/^~(?=\/|$)/, homedir())),
    // time and ids
    timestamp: fixed(0, () => context.now.toISOString().replace(/\.\d+Z$/, "Z")),
    formatdate: fixed(2, (spec: unknown, time: unknown) => formatDate(str(spec), str(time))),
    uuidv4: fixed(0, () => randomUUID()),
    env: fixed(1, (name: unknown) => context.env[str(name)] ?? ""),
    // strings
    format: (args) => {
      arity(args, 1, Infinity);
      return goFormat(str(args[0], "the format"), args.slice(1));
    },
    formatlist: (args) => {
      arity(args, 1, Infinity);
      const lists = args.slice(1).filter(Array.isArray);
      const length = lists.length === 0 ? 1 : Math.min(...lists.map((l) => l.length));
      return Array.from({ length }, (_, i) =>
        goFormat(
          str(args[0]),
          args.slice(1).map((a) => (Array.isArray(a) ? a[i] : a)),
        ),
      );
    },
    join: (args) => {
      arity(args, 2, Infinity);
      return args
        .slice(1)
        .flatMap((l) => list(l))
        .map((item) => str(item, "join's items"))
        .join(str(args[0]));
    },
    split: fixed(2, (sep: unknown, s: unknown) => str(s).split(str(sep))),
    lower: fixed(1, (s: unknown) => str(s).toLowerCase()),
    upper: fixed(1, (s: unknown) => str(s).toUpperCase()),
    title: fixed(1, (s: unknown) => str(s).replace(/\b\w/g, (c) => c.toUpperCase())),
    replace: fixed(3, (s: unknown, search: unknown, by: unknown) => {
      const pattern = str(search);
      const regex = /^\/(.*)\/$/s.exec(pattern);
      if (regex) return str(s).replace(new RegExp(regex[1] as string, "g"), str(by).replace(/\$\{?(\d+)\}?/g, "$$$1"));
      return str(s).split(pattern).join(str(by));
    }),
    regex_replace: fixed(3, (s: unknown, pattern: unknown, by: unknown) =>
      str(s).replace(new RegExp(str(pattern), "g"), str(by).replace(/\$\{?(\d+)\}?/g, "$$$1")),
    ),
    regex: fixed(2, (pattern: unknown, s: unknown) => {
      const match = new RegExp(str(pattern)).exec(str(s));
      if (!match) throw new HclExpressionError("the pattern does not match");
      if (match.groups) return { ...match.groups };
      return match.length > 1 ? match.slice(1) : match[0];
    }),
    regexall: fixed(2, (pattern: unknown, s: unknown) =>
      [...str(s).matchAll(new RegExp(str(pattern), "g"))].map((m) => (m.length > 1 ? m.slice(1) : m[0])),
    ),
    trimspace: fixed(1, (s: unknown) => str(s).trim()),
    trim: fixed(2, (s: unknown, chars: unknown) => {
      const set = new Set(str(chars));
      const text = [...str(s)];
      while (text.length && set.has(text[0] as string)) text.shift();
      while (text.length && set.has(text[text.length - 1] as string)) text.pop();
      return text.join("");
    }),
    trimprefix: fixed(2, (s: unknown, p: unknown) =>
      str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s),
    ),
    trimsuffix: fixed(2, (s: unknown, p: unknown) =>
      str(s).endsWith(str(p)) && str(p) !== "" ? str(s).slice(0, -str(p).length) : str(s),
    ),
    chomp: fixed(1, (s: unknown) => str(s).replace(/(\r?\n)+$/, "")),
    indent: fixed(2, (n: unknown, s: unknown) => str(s).replace(/\n/g, `\n${" ".repeat(toNumber(n, "indent"))}`)),
    substr: fixed(3, (s: unknown, offset: unknown, length: unknown) => {
      const chars = [...str(s)];
      const from = toNumber(offset, "substr's offset");
      const start = from < 0 ? chars.length + from : from;
      const count = toNumber(length, "substr's length");
      return chars.slice(start, count < 0 ? undefined : start + count).join("");
    }),
    strrev: fixed(1, (s: unknown) => [...str(s)].reverse().join("")),
    startswith: fixed(2, (s: unknown, p: unknown) => str(s).startsWith(str(p))),
    endswith: fixed(2, (s: unknown, p: unknown) => str(s).endsWith(str(p))),
    strcontains: fixed(2, (s: unknown, p: unknown) => str(s).includes(str(p))),
    // encodings and hashes
    base64encode: fixed(1, (s: unknown) => Buffer.from(str(s), "utf8").toString("base64")),
    base64decode: fixed(1, (s: unknown) => Buffer.from(str(s), "base64").toString("utf8")),
    jsonencode: fixed(1, (v: unknown) => JSON.stringify(v)),
    jsondecode: fixed(1, (s: unknown) => {
      try {
        return JSON.parse(str(s)) as unknown;
      } catch (error) {
        throw new HclExpressionError(`not JSON: ${(error as Error).message}`);
      }
    }),
    urlencode: fixed(1, (s: unknown) => encodeURIComponent(str(s))),
    md5: hash("md5"),
    sha1: hash("sha1"),
    sha256: hash("sha256"),
    sha512: hash("sha512"),
    // numbers
    abs: fixed(1, (n: unknown) => Math.abs(toNumber(n, "abs"))),
    ceil: fixed(1, (n: unknown) => Math.ceil(toNumber(n, "ceil"))),
    floor: fixed(1, (n: unknown) => Math.floor(toNumber(n, "floor"))),
    max: (args) => Math.max(...args.map((n) => toNumber(n, "max"))),
    min: (args) => Math.min(...args.map((n) => toNumber(n, "min"))),
    parseint: fixed(2, (s: unknown, base: unknown) => parseInt(str(s), toNumber(base, "parseint's base"))),
    // collections
    length: fixed(1, (v: unknown) => {
      if (typeof v === "string") return [...v].length;
      if (Array.isArray(v)) return v.length;
      if (isObject(v)) return Object.keys(v).length;
      throw new HclExpressionError(`length() needs a string, list or map, got ${typeName(v)}`);
    }),
    coalesce: (args) => {
      const found = args.find((v) => v !== null && v !== "");
      if (found === undefined) throw new HclExpressionError("no non-null, non-empty argument");
      return found;
    },
    coalescelist: (args) => args.find((v) => Array.isArray(v) && v.length > 0) ?? [],
    compact: fixed(1, (l: unknown) => list(l).filter((v) => v !== null && v !== "")),
    concat: (args) => args.flatMap((l, i) => list(l, `argument ${i + 1}`)),
    contains: fixed(2, (l: unknown, v: unknown) => list(l).some((item) => JSON.stringify(item) === JSON.stringify(v))),
    distinct: fixed(1, (l: unknown) => [...new Map(list(l).map((v) => [JSON.stringify(v), v])).values()]),
    element: fixed(2, (l: unknown, i: unknown) => {
      const items = list(l);
      if (items.length === 0) throw new HclExpressionError("cannot take an element of an empty list");
      return items[toNumber(i, "element's index") % items.length];
    }),
    flatten: fixed(1, (l: unknown) => {
      const flat = (v: unknown[]): unknown[] => v.flatMap((x) => (Array.isArray(x) ? flat(x) : [x]));
      return flat(list(l));
    }),
    index: fixed(2, (l: unknown, v: unknown) => {
      const at = list(l).findIndex((item) => JSON.stringify(item) === JSON.stringify(v));
      if (at < 0) throw new HclExpressionError("the item is not in the list");
      return at;
    }),
    keys: fixed(1, (m: unknown) => Object.keys(map(m)).sort()),
    values: fixed(1, (m: unknown) => {
      const table = map(m);
      return Object.keys(table)
        .sort()
        .map((k) => table[k]);
    }),
    lookup: (args) => {
      arity(args, 2, 3);
      const table = map(args[0]);
      const key = str(args[1]);
      if (key in table) return table[key];
      if (args.length === 3) return args[2];
      throw new HclExpressionError(`no key "${key}" in the map, and no default given`);
    },
    merge: (args) => Object.assign({}, ...args.filter((a) => a !== null).map((a) => map(a, "each argument"))),
    range: (args) => {
      arity(args, 1, 3);
      const n = args.map((a) => toNumber(a, "range"));
      const [start, end, step] = n.length === 1 ? [0, n[0] as number, 1] : [n[0] as number, n[1] as number, n[2] ?? 1];
      const out: number[] = [];
      for (let i = start; step > 0 ? i < end : i > end; i += step) out.push(i);
      return out;
    },
    reverse: fixed(1, (l: unknown) => [...list(l)].reverse()),
    slice: fixed(3, (l: unknown, from: unknown, to: unknown) =>
      list(l).slice(toNumber(from, "slice"), toNumber(to, "slice")),
    ),
    sort: fixed(1, (l: unknown) =>
      list(l)
        .map((v) => str(v, "sort's items"))
        .sort(),
    ),
    zipmap: fixed(2, (k: unknown, v: unknown) => Object.fromEntries(list(k).map((key, i) => [str(key), list(v)[i]]))),
    // conversions
    tostring: fixed(1, (v: unknown) => (v === null ? null : str(v))),
    tonumber: fixed(1, (v: unknown) => (v === null ? null : toNumber(v, "tonumber"))),
    tobool: fixed(1, (v: unknown) => (v === null ? null : toBool(v, "tobool"))),
    tolist: fixed(1, (v: unknown) => list(v)),
    toset: fixed(1, (v: unknown) => [...new Map(list(v).map((x) => [JSON.stringify(x), x])).values()]),
    tomap: fixed(1, (v: unknown) => map(v)),
  };
  return functions;
}

/** Packer functions tsimg does not offer, and what to do instead. */
export const REFUSED_FUNCTIONS: Record<string, string> = {
  vault:
    "reads HashiCorp Vault, which tsimg does not: pass the secret with -var or PKR_VAR_ and mark the variable sensitive",
  consul_key: "reads Consul, which tsimg does not: pass the value with -var",
  aws_secretsmanager: "reads AWS Secrets Manager, which tsimg does not: pass the secret with -var or PKR_VAR_",
  aws_secretsmanager_raw: "reads AWS Secrets Manager, which tsimg does not: pass the secret with -var or PKR_VAR_",
  bcrypt: "gives a different hash each run: compute the hash once and pass it with -var",
  legacy_isotime: 'is deprecated in Packer: use formatdate("...", timestamp())',
  legacy_strftime: 'is deprecated in Packer: use formatdate("...", timestamp())',
  fileset: "is not available: list the files",
};
