// The image's SBOM: CycloneDX 1.6 JSON made with the CycloneDX project's own library. The
// image is the BOM's subject (metadata.component, an operating-system component carrying
// os-release, the kernel, services, users and ports as tsimg:* properties); each package
// is a component with a package URL (pkg:deb, pkg:rpm, pkg:apk).
import * as CDX from "@cyclonedx/cyclonedx-library";
import { PackageURL } from "packageurl-js";
import type { Inventory, InventoryPackage } from "./types.js";

/** Who the SBOM describes. */
export interface SbomSubject {
  name: string;
  version?: string;
  /** Build time, ms since the epoch. */
  timestamp: number;
  /** Serial number: one per build. */
  runUuid: string;
  tsimgVersion: string;
}

/** The SBOM as JSON text. */
export function renderSbom(inventory: Inventory, subject: SbomSubject): string {
  const bom = new CDX.Models.Bom({ serialNumber: `urn:uuid:${subject.runUuid}` });
  bom.metadata.timestamp = new Date(subject.timestamp);
  bom.metadata.tools.components.add(
    new CDX.Models.Component(CDX.Enums.ComponentType.Application, "tsimg", { version: subject.tsimgVersion }),
  );
  const image = new CDX.Models.Component(CDX.Enums.ComponentType.OperatingSystem, subject.name, {
    ...(subject.version ? { version: subject.version } : {}),
    bomRef: `image:${subject.name}`,
    ...(inventory.os.PRETTY_NAME ? { description: inventory.os.PRETTY_NAME } : {}),
  });
  const property = (name: string, value: string) => image.properties.add(new CDX.Models.Property(name, value));
  for (const [key, value] of Object.entries(inventory.os)) property(`tsimg:os:${key}`, value);
  if (inventory.kernel) property("tsimg:kernel", inventory.kernel);
  for (const service of inventory.services) property("tsimg:service", service);
  for (const user of inventory.users)
    property("tsimg:user", `${user.name}:${user.uid}:${user.gid}:${user.home}:${user.shell}`);
  for (const group of inventory.groups)
    property("tsimg:group", `${group.name}:${group.gid}:${group.members.join(",")}`);
  for (const port of inventory.ports) property("tsimg:port", `${port.protocol}:${port.address}:${port.port}`);
  for (const file of inventory.files) property("tsimg:file", `sha256:${file.sha256}:${file.path}`);
  bom.metadata.component = image;
  const namespace = inventory.os.ID ?? "unknown";
  for (const pkg of inventory.packages) bom.components.add(packageComponent(pkg, namespace));
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}

function packageComponent(pkg: InventoryPackage, namespace: string): CDX.Models.Component {
  const type = { dpkg: "deb", rpm: "rpm", apk: "apk" }[pkg.manager];
  const purl = new PackageURL(
    type,
    namespace,
    pkg.name,
    pkg.version,
    pkg.arch ? { arch: pkg.arch } : undefined,
    undefined,
  );
  const component = new CDX.Models.Component(CDX.Enums.ComponentType.Library, pkg.name, {
    version: pkg.version,
    purl: purl.toString(),
    bomRef: purl.toString(),
  });
  if (pkg.license) component.licenses.add(new CDX.Models.NamedLicense(pkg.license));
  return component;
}
