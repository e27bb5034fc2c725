// `tsimg inspect`: the resolved template and the exact QEMU command line, secrets masked.
import { relative } from "node:path";
import { formatCommandLine, loadTemplates, Masker, previewQemuCommand, type BuildPlan } from "../index.js";
import { EXIT } from "./exit-codes.js";
import { formatError } from "./errors.js";
import { HELP } from "./help.js";
import { loadOptions, parseCommandArgs, printWarnings, UsageError } from "./options.js";

export function runInspect(args: string[]): number {
  const { values, positionals } = parseCommandArgs("inspect", args, { json: { type: "boolean" } });
  if (values.help) {
    console.log(HELP.inspect);
    return EXIT.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError('tsimg inspect needs exactly one template, e.g. "tsimg inspect images/tinyos.toml"');
  // A Packer template with several qemu builds: each is shown (--json: a list of them).
  const plans = loadTemplates(positionals[0] as string, loadOptions(values));
  const masker = new Masker();
  for (const secret of plans.flatMap((p) => p.secrets)) masker.add(secret);
  const shown = plans.map((plan) => {
    const qemu = previewQemuCommand(plan);
    if (values.json) return inspectJson(plan, qemu);
    const lines = inspectText(plan, qemu);
    return (plans.length > 1 ? [`==> Build ${plan.image.name}`, "", ...lines] : lines).join("\n");
  });
  const text = values.json
    ? JSON.stringify(plans.length > 1 ? shown : shown[0], null, 2)
    : (shown as string[]).join("\n\n");
  console.log(masker.mask(text));
  for (const plan of plans) {
    printWarnings(plan, (line) => masker.mask(line));
    for (const warning of plan.missingInputs)
      for (const line of formatError(warning, false)) console.error(masker.mask(line.replace(/^Error: /, "Warning: ")));
  }
  return EXIT.ok;
}

function inspectJson(plan: BuildPlan, qemu: ReturnType<typeof previewQemuCommand>) {
  return {
    template: plan.templatePath,
    image: plan.image,
    variables: Object.fromEntries(
      Object.entries(plan.variables).map(([name, v]) => [name, { value: v.value, sensitive: v.sensitive }]),
    ),
    source: plan.source,
    provisioners: plan.provisioners,
    post_processors: plan.postProcessors,
    qemu: { binary: qemu.binary, args: qemu.args, replaced: qemu.replaced },
  };
}

function inspectText(plan: BuildPlan, qemu: ReturnType<typeof previewQemuCommand>): string[] {
  const show = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
  const lines = [`Template: ${relative(process.cwd(), plan.templatePath) || plan.templatePath}`, "", "Image:"];
  for (const [key, value] of Object.entries(plan.image)) lines.push(`  ${key} = ${show(value)}`);
  lines.push("", "Variables:");
  for (const [name, v] of Object.entries(plan.variables))
    lines.push(`  ${name} = ${v.value}${v.sensitive ? "  (sensitive)" : ""}`);
  lines.push("", "Source (qemu builder, defaults filled in; sizes in MiB, durations in ms):");
  for (const [key, value] of Object.entries(plan.source)) {
    if (key === "http_content" && value && typeof value === "object") {
      for (const [path, content] of Object.entries(value as Record<string, string>))
        lines.push(`  http_content ${path} = <${Buffer.byteLength(content)} bytes>`);
    } else lines.push(`  ${key} = ${show(value)}`);
  }
  lines.push("", "Provisioners:");
  plan.provisioners.forEach((p, i) => {
    const { type, ...rest } = p;
    lines.push(
      `  ${i + 1}. ${type}: ${Object.entries(rest)
        .map(([k, v]) => `${k}=${show(v)}`)
        .join(" ")}`,
    );
  });
  if (plan.postProcessors.length > 0) {
    lines.push("", "Post-processor chains:");
    plan.postProcessors.forEach((chain, c) => {
      chain.forEach((p, i) => {
        const { type, ...rest } = p;
        lines.push(
          `  ${c + 1}.${i + 1} ${type}: ${Object.entries(rest)
            .map(([k, v]) => `${k}=${show(v)}`)
            .join(" ")}`,
        );
      });
    });
  }
  lines.push(
    "",
    `QEMU command line (accelerator ${plan.source.accelerator === "auto" ? "auto: KVM where it works, else TCG" : qemu.accelerator}):`,
  );
  lines.push(`  ${formatCommandLine(qemu.binary, qemu.args)}`);
  for (const line of qemu.replaced) lines.push(`  note: ${line}`);
  return lines;
}
