// The components a template may use, as the generic loader (template/) and the reference
// generator ask for them: `[source]` is the qemu builder with its sources, HTTP server and
// communicator; then the provisioners and post-processors.
import { BOOT_TEST_OPTIONS, TEST_INTRO, TEST_OPTIONS, checkTest, type TestConfig } from "../checks/options.js";
import { LAYER_CACHE_OPTIONS } from "../cache/options.js";
import { checkTable } from "../core/check-options.js";
import type { ConfigOf, OptionTable } from "../core/options.js";
import { COMMUNICATOR_OPTIONS, checkCommunicator, communicatorSecrets } from "../communicator/options.js";
import { HTTP_OPTIONS, checkHttp, checkHttpPorts } from "../http/options.js";
import { checkKickstartPassword } from "./kickstart-password.js";
import { POST_PROCESSOR_INTRO, POST_PROCESSOR_INTROS } from "../postprocessors/reference-doc.js";
import { POST_PROCESSOR_TABLES } from "../postprocessors/schema.js";
import type { PostProcessorConfig } from "../postprocessors/types.js";
import { checkPostProcessorTable, postProcessorSecrets } from "../postprocessors/validate.js";
import { checkProvisioner, provisionerSecrets } from "../provisioners/check-options.js";
import { PROVISIONER_INTROS, PROVISIONER_TABLES, type ProvisionerConfig } from "../provisioners/options.js";
import { checkBootCommand, checkDisks, checkQemuPorts, outputNames } from "../qemu/check-options.js";
import {
  QEMU_BOOT_OPTIONS,
  QEMU_HOST_PORT_OPTIONS,
  QEMU_MACHINE_OPTIONS,
  QEMU_SHUTDOWN_OPTIONS,
  type QemuImgArgs,
} from "../qemu/options.js";
import { checkOutputPaths, hostContext } from "../qemu/output-paths.js";
import { ISO_OPTIONS, MEDIA_OPTIONS, checkChecksum, checkMedia, chooseIso } from "../sources/options.js";
import type { ComponentRegistry, SourceContext } from "../template/registry.js";

/** `[source]`: every option, in the order the reference lists them. */
export const SOURCE_OPTIONS = {
  ...ISO_OPTIONS,
  ...QEMU_MACHINE_OPTIONS,
  ...MEDIA_OPTIONS,
  ...QEMU_BOOT_OPTIONS,
  ...HTTP_OPTIONS,
  ...QEMU_HOST_PORT_OPTIONS,
  ...COMMUNICATOR_OPTIONS,
  ...QEMU_SHUTDOWN_OPTIONS,
  ...BOOT_TEST_OPTIONS,
  ...LAYER_CACHE_OPTIONS,
} as const satisfies OptionTable;

/** `[source]` after defaults, unit parsing (MiB, ms) and path resolution (absolute). */
export type SourceConfig = ConfigOf<typeof SOURCE_OPTIONS, { qemu_img_args: QemuImgArgs }>;

/** Each component's checks, in the order their problems are listed. */
function checkSource(
  resolved: Record<string, unknown>,
  written: Record<string, unknown>,
  { baseDir, imageName, problems }: SourceContext,
): SourceConfig {
  const checked = checkTable(resolved, SOURCE_OPTIONS, ["source"], baseDir, problems);
  const named = Object.assign(checked, outputNames(checked, imageName));
  checkOutputPaths(named, resolved, hostContext(baseDir), problems);
  const withIso = Object.assign(named, chooseIso(named, written, baseDir, problems));
  checkChecksum(withIso.iso_checksum, problems);
  const source = Object.assign(withIso, { qemu_img_args: checkDisks(withIso, written, problems) });
  checkMedia(source, baseDir, problems);
  checkHttp(source, written, problems);
  checkCommunicator(source, written, problems);
  checkHttpPorts(source, problems);
  checkQemuPorts(source, problems);
  checkBootCommand(source, problems);
  checkKickstartPassword(source, problems);
  return source;
}

/** The real components, for template/'s loader. */
export const COMPONENTS: ComponentRegistry<SourceConfig, ProvisionerConfig, PostProcessorConfig, TestConfig> = {
  source: { options: SOURCE_OPTIONS, check: checkSource, secrets: communicatorSecrets },
  provisioners: {
    types: PROVISIONER_TABLES,
    intros: PROVISIONER_INTROS,
    check: checkProvisioner,
    secrets: provisionerSecrets,
  },
  postProcessors: {
    types: POST_PROCESSOR_TABLES,
    heading: POST_PROCESSOR_INTRO,
    intros: POST_PROCESSOR_INTROS,
    check: checkPostProcessorTable,
    secrets: postProcessorSecrets,
  },
  tests: { options: TEST_OPTIONS, intro: TEST_INTRO, check: checkTest },
};
