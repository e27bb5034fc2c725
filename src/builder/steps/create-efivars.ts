import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuildStep } from "../context.js";
import type { EfiVars } from "../values.js";

/**
 * Copies OVMF's variable store template into the output directory: the guest writes its
 * boot entries there, and the image needs the same NVRAM to boot later (efi_drop_efivars
 * removes it at the end). The template itself is never written.
 */
export const createEfiVars: BuildStep<object, EfiVars> = {
  name: "create-efivars",
  title: "Preparing the UEFI variable store...",
  async run(ctx) {
    const { efi_firmware_vars, output_directory } = ctx.build.plan.source;
    const efiVarsPath = join(output_directory, "efivars.fd");
    await copyFile(efi_firmware_vars, efiVarsPath);
    ctx.events.info(`UEFI variables: copied ${efi_firmware_vars} to ${efiVarsPath}`);
    return { efiVarsPath };
  },
};
