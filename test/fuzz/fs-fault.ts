// A full device under an output file: fs.writeSync fails with ENOSPC after
// a given number of writes to a file (stdin, stdout and stderr are left
// alone), for every module that imported it from node:fs
// (syncBuiltinESMExports updates their live bindings). What iotrace must
// do then: one line, exit 2, and no partial file under the final name or
// the temporary one (safe/files.ts AtomicFile).
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

export async function withWriteFault<T>(after: number, fn: () => Promise<T>): Promise<{ value: T; injected: boolean }> {
  const real = fs.writeSync;
  let calls = 0;
  let injected = false;
  fs.writeSync = function writeSync(fd: number, ...rest: unknown[]): number {
    if (fd > 2 && calls++ >= after) {
      injected = true;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
    return (real as (...a: unknown[]) => number).call(fs, fd, ...rest);
  } as typeof fs.writeSync;
  syncBuiltinESMExports();
  try {
    return { value: await fn(), injected };
  } finally {
    fs.writeSync = real;
    syncBuiltinESMExports();
  }
}
