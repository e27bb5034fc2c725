// What tsimg records of a finished image's contents: the manifest's `inventory`, the SBOM's
// source, and what `tsimg diff` compares. Every list is sorted, so equal images give equal JSON.

/** One installed package, as the package database records it. */
export interface InventoryPackage {
  name: string;
  version: string;
  arch?: string;
  /** Only where the database keeps one (rpm, apk; dpkg does not). */
  license?: string;
  manager: "dpkg" | "rpm" | "apk";
}

export interface InventoryUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface InventoryGroup {
  name: string;
  gid: number;
  members: string[];
}

export interface ListeningPort {
  protocol: "tcp" | "tcp6" | "udp" | "udp6";
  address: string;
  port: number;
}

export interface Inventory {
  /** /etc/os-release's fields (ID, VERSION_ID, PRETTY_NAME...). */
  os: Record<string, string>;
  /** `uname -r`. */
  kernel?: string;
  packages: InventoryPackage[];
  /** Services enabled at boot (systemd units, OpenRC or SysV rc scripts). */
  services: string[];
  users: InventoryUser[];
  groups: InventoryGroup[];
  ports: ListeningPort[];
  /** sha256 of every file the file provisioners uploaded, as the guest has it. */
  files: Array<{ path: string; sha256: string }>;
  /** What could not be collected, and why (never a silent gap). */
  warnings: string[];
}
