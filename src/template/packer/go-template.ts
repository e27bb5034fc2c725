// The Go-template functions of legacy Packer JSON templates, resolved when the template
// loads: {{user `x`}}, {{env `X`}} (in variables only, as in Packer), {{template_dir}}, {{pwd}},
// {{timestamp}}, {{isotime "2006-01-02"}}, {{build_name}}, {{build_type}}, {{uuid}}, {{packer_version}} (tsimg's),
// {{split s sep n}}, {{upper}}, {{lower}}, {{replace_all}}, {{clean_resource_name}}, with
// pipelines (`{{isotime | lower}}`). {{build `Host`}} and the like (in provisioners and
// post-processors) are kept in that form for the build to fill in. Actions on a field ({{ .HTTPIP }}, {{ .Name }}, {{.Vars}})
// are resolved while the build runs, and stay as written.
import { randomUUID } from "node:crypto";
import { buildPlaceholder, buildValueProblem, type BuildValueName } from "../../core/runtime-vars.js";
import { TSIMG_VERSION } from "../../core/version.js";
import { DAYS, MONTHS } from "./hcl/format.js";

export class GoTemplateError extends Error {}

export interface GoTemplateContext {
  user(name: string): string;
  /** Undefined outside variables: env is refused there, as in Packer. */
  env?: NodeJS.ProcessEnv;
  templateDir: string;
  cwd: string;
  now: Date;
  buildName: string;
  buildType: string;
  /** In provisioners and post-processors: {{build `Host`}} and the like stay for the build to fill in. */
  buildValues?: boolean;
}

const REFUSED: Record<string, string> = {
  vault: "reads HashiCorp Vault, which tsimg does not: pass the secret with -var",
  consul_key: "reads Consul, which tsimg does not: pass the value with -var",
  aws_secretsmanager: "reads AWS Secrets Manager, which tsimg does not: pass the secret with -var",
  sed: "is deprecated in Packer: use replace_all",
};

/** Resolves every load-time action in `text`; throws GoTemplateError naming the first one it cannot. */
export function renderGoTemplate(text: string, context: GoTemplateContext): string {
  return text.replace(/\{\{(-?)([\s\S]*?)(-?)\}\}/g, (whole, _trimLeft, body: string) => {
    const action = body.trim();
    if (action.startsWith(".") || action === "") return whole; // a run-time field
    return pipeline(action, context);
  });
}

/** "a `x|y` (c | d) | b" -> ["a `x|y` (c | d) ", " b"]: the pipes outside quotes and parentheses. */
function splitPipes(action: string): string[] {
  const stages = [""];
  let quote = "";
  let depth = 0;
  for (const ch of action) {
    if (quote) quote = ch === quote ? "" : quote;
    else if (ch === "`" || ch === '"') quote = ch;
    else if (ch === "(" || ch === ")") depth += ch === "(" ? 1 : -1;
    else if (ch === "|" && depth === 0) {
      stages.push("");
      continue;
    }
    stages[stages.length - 1] += ch;
  }
  return stages;
}

/** A pipeline's value: "a x | b" -> b(a(x)). */
function pipeline(action: string, context: GoTemplateContext): string {
  return splitPipes(action).reduce<string | undefined>(
    (input, stage) => call(stage.trim(), input, context),
    undefined,
  ) as string;
}

/**
 * One command's words, as Go's text/template reads them: a quoted word is a string, a
 * number stays as written, `( ... )` is a pipeline of its own, and any other bare word
 * after the first is a function called with no argument ({{split build_name "-" 0}}).
 */
function words(stage: string, context: GoTemplateContext): [string, ...string[]] {
  const matches = [...stage.matchAll(/`([^`]*)`|"((?:[^"\\]|\\.)*)"|\(([^()]*)\)|([^\s()]+)/g)];
  return matches.map((m, i) => {
    if (m[1] !== undefined) return m[1];
    if (m[2] !== undefined) return JSON.parse(`"${m[2]}"`) as string;
    if (m[3] !== undefined) return pipeline(m[3], context);
    const bare = m[4] as string;
    return i === 0 || /^-?[\d.]/.test(bare) ? bare : call(bare, undefined, context);
  }) as [string, ...string[]];
}

function call(stage: string, input: string | undefined, context: GoTemplateContext): string {
  const [name, ...args] = words(stage, context);
  if (input !== undefined) args.push(input);
  const want = (n: number) => {
    if (args.length !== n)
      throw new GoTemplateError(`{{${name}}} takes ${n} argument${n === 1 ? "" : "s"}, got ${args.length}`);
  };
  switch (name) {
    case "user": {
      want(1);
      return context.user(args[0] as string);
    }
    case "env":
      want(1);
      if (!context.env)
        throw new GoTemplateError(
          '{{env}} is allowed only in "variables", as in Packer: set a variable to {{env `X`}} and use {{user `name`}}',
        );
      return context.env[args[0] as string] ?? "";
    case "template_dir":
      return context.templateDir;
    case "pwd":
      return context.cwd;
    case "timestamp":
      return String(Math.floor(context.now.getTime() / 1000));
    case "isotime":
      return goTime(args[0] ?? "2006-01-02T15:04:05Z07:00", context.now);
    case "build": {
      want(1);
      const value = args[0] as string;
      const problem = buildValueProblem(value);
      if (problem) throw new GoTemplateError(problem);
      if (!context.buildValues)
        throw new GoTemplateError(
          `{{build \`${value}\`}} is known only while the build runs: provisioners and post-processors can use it`,
        );
      return buildPlaceholder(value as BuildValueName);
    }
    case "build_name":
      return context.buildName;
    case "packer_version": // the version of what builds the image, as packer.version in HCL2
      return TSIMG_VERSION;
    case "build_type":
      return context.buildType;
    case "uuid":
      return randomUUID();
    case "upper":
      want(1);
      return (args[0] as string).toUpperCase();
    case "lower":
      want(1);
      return (args[0] as string).toLowerCase();
    case "split": {
      want(3);
      const parts = (args[0] as string).split(args[1] as string);
      const index = Number(args[2]);
      if (!Number.isInteger(index) || index < 0 || index >= parts.length)
        throw new GoTemplateError(`{{split}}: no part ${args[2]} in "${args[0]}"`);
      return parts[index] as string;
    }
    case "replace_all":
      want(3);
      return (args[2] as string).split(args[0] as string).join(args[1] as string);
    case "replace": {
      want(4);
      let left = Number(args[2]);
      let out = args[3] as string;
      while (left-- > 0 && out.includes(args[0] as string)) out = out.replace(args[0] as string, args[1] as string);
      return out;
    }
    case "clean_resource_name":
      want(1);
      return (args[0] as string).toLowerCase().replace(/[^a-z0-9-]/g, "-");
    default: {
      const why = REFUSED[name];
      throw new GoTemplateError(why ? `{{${name}}} ${why}` : `unknown template function {{${name}}}`);
    }
  }
}

/** Go's time.Format with its reference-time layout ("2006-01-02T15:04:05Z07:00"), in UTC as Packer's isotime is. */
export function goTime(layout: string, now: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const hour = now.getUTCHours();
  const tokens: [string, () => string][] = [
    ["January", () => MONTHS[now.getUTCMonth()] as string],
    ["Monday", () => DAYS[now.getUTCDay()] as string],
    ["Z07:00", () => "Z"],
    ["-07:00", () => "+00:00"],
    ["-0700", () => "+0000"],
    ["2006", () => String(now.getUTCFullYear())],
    ["Jan", () => (MONTHS[now.getUTCMonth()] as string).slice(0, 3)],
    ["Mon", () => (DAYS[now.getUTCDay()] as string).slice(0, 3)],
    ["MST", () => "UTC"],
    [".000", () => `.${pad(now.getUTCMilliseconds(), 3)}`],
    ["_2", () => String(now.getUTCDate()).padStart(2, " ")],
    ["15", () => pad(hour)],
    ["06", () => pad(now.getUTCFullYear() % 100)],
    ["01", () => pad(now.getUTCMonth() + 1)],
    ["02", () => pad(now.getUTCDate())],
    ["03", () => pad(hour % 12 || 12)],
    ["04", () => pad(now.getUTCMinutes())],
    ["05", () => pad(now.getUTCSeconds())],
    ["PM", () => (hour < 12 ? "AM" : "PM")],
    ["pm", () => (hour < 12 ? "am" : "pm")],
    ["1", () => String(now.getUTCMonth() + 1)],
    ["2", () => String(now.getUTCDate())],
    ["3", () => String(hour % 12 || 12)],
    ["4", () => String(now.getUTCMinutes())],
    ["5", () => String(now.getUTCSeconds())],
  ];
  let out = "";
  for (let i = 0; i < layout.length;) {
    const token = tokens.find(([t]) => layout.startsWith(t, i));
    if (token) {
      out += token[1]();
      i += token[0].length;
    } else out += layout[i++];
  }
  return out;
}
