// The log formats `iotrace import` reads, by the tool that writes them.
import type { ImportSource } from '../trace/header.js';
import { FTRACE } from './ftrace.js';
import type { LogFormat } from './import.js';
import { QEMU } from './qemu.js';

export const FORMATS: Readonly<Record<ImportSource['tool'], LogFormat>> = { qemu: QEMU, ftrace: FTRACE };
