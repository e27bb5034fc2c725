// The last lines QEMU printed and the guest's serial console showed, for error details: a
// failure that happens while the VM runs is explained by what the VM said last.
import type { QemuProcess } from "../qemu/process.js";
import type { SerialFollower } from "../qemu/serial.js";

/** What tails() reads: the VM's process and its serial console, when they exist. */
export interface VmOutput {
  qemu?: QemuProcess | undefined;
  serial?: SerialFollower | undefined;
}

/** "QEMU said: ..." and "last lines on the serial console: ..." lines for error details. */
export function tails(vm: VmOutput): string[] {
  const stderr = vm.qemu?.stderrTail().slice(-10) ?? [];
  const serial = vm.serial?.lines(15) ?? [];
  return [
    ...(stderr.length ? ["QEMU said:", ...stderr.map((l) => `  ${l}`)] : []),
    ...(serial.length ? ["last lines on the serial console:", ...serial.map((l) => `  ${l}`)] : []),
  ];
}
