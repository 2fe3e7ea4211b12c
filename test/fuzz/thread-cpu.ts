// CPU time of the calling thread alone. process.cpuUsage() is the whole
// process's: in a campaign of two worker threads a case was charged the other
// worker's CPU as well (seed 1, case 292 085 "took 6951 ms of CPU" in a
// two-worker run; alone it stays under the 5 s bound). Linux reports each
// thread's own utime and stime in /proc/thread-self/stat, in USER_HZ ticks
// (100 per second for every userspace ABI); elsewhere the process's figure
// is the best there is.
import { readFileSync } from 'node:fs';

const USER_HZ = 100;

function fromProc(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    // Fields after the command name (in parentheses, which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / USER_HZ : null;
  } catch {
    return null;
  }
}

const perThread = fromProc() !== null;

/** Milliseconds of CPU this thread has used (the process's, where the system cannot say). */
export function threadCpuMs(): number {
  if (perThread) return fromProc() as number;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Whether threadCpuMs() is this thread's own time rather than the process's. */
export const threadCpuIsOwn = perThread;
