// How many keystrokes wait in the BIOS keyboard buffer, read from guest memory. A BIOS boot
// menu (isolinux, GRUB for BIOS) takes keys from this 15-key ring (int 16h), which the BIOS
// fills from the PS/2 port on each keyboard interrupt. While the menu is busy (isolinux
// redrawing its edit line), the interrupt still empties the PS/2 queue into the ring, and the
// ring overflows: keys read from the port are lost all the same.
import type { QmpCommands } from "./type-keys.js";

// BIOS data area: head and tail at 0x41a/0x41c; the ring's start and end at 0x480/0x482,
// all as offsets from 0x400. SeaBIOS keeps the standard ring, 0x1e to 0x3e.
const STANDARD_RING = { start: 0x1e, end: 0x3e };

/** Keystrokes in the BIOS ring, or undefined when guest memory does not hold a standard ring. */
export async function readBiosKeyBacklog(qmp: QmpCommands): Promise<number | undefined> {
  const [head, tail] = await readWords(qmp, 0x41a);
  const [start, end] = await readWords(qmp, 0x480);
  if (start !== STANDARD_RING.start || end !== STANDARD_RING.end) return undefined;
  const inRing = (offset: number | undefined) =>
    offset !== undefined && offset >= start && offset < end && offset % 2 === 0;
  if (!inRing(head) || !inRing(tail)) return undefined;
  return ((tail! - head! + (end - start)) % (end - start)) / 2;
}

// HMP `xp /2hx ADDR` answers "000000000000041a: 0x001e 0x0022".
async function readWords(qmp: QmpCommands, address: number): Promise<(number | undefined)[]> {
  const answer = String(
    await qmp.execute("human-monitor-command", { "command-line": `xp /2hx 0x${address.toString(16)}` }),
  );
  const words = /:\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)/i.exec(answer);
  return words ? [parseInt(words[1]!, 16), parseInt(words[2]!, 16)] : [undefined, undefined];
}
