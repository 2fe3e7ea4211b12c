// Requester ids as the model spells them (bus:dev.fn, engine/types.ts Rid)
// from the forms the logs print: a 16-bit source id, bus + devfn, bus + slot +
// function, or a PCI device name with its segment ("0000:00:03.0").
import type { Rid } from '../engine/types.js';

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** bus:slot.fn */
export const ridOf = (bus: number, slot: number, fn: number): Rid => `${hex2(bus & 0xff)}:${hex2(slot & 0x1f)}.${fn & 7}`;

/** Source id: bus in 15:8, device in 7:3, function in 2:0 (PCI_BUS_NUM, PCI_SLOT, PCI_FUNC). */
export const ridOfSid = (sid: number): Rid => ridOf(sid >> 8, (sid >> 3) & 0x1f, sid & 7);

export const ridOfDevfn = (bus: number, devfn: number): Rid => ridOf(bus, devfn >> 3, devfn & 7);

/** A PCI device name (dev_name(): "0000:00:03.0", or without the segment), else null (a platform device). */
export function ridOfName(name: string): Rid | null {
  const m = /^(?:[0-9a-f]{4,8}:)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(name.trim());
  return m ? ridOf(parseInt(m[1] as string, 16), parseInt(m[2] as string, 16), Number(m[3])) : null;
}

