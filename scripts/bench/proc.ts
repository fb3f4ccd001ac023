/** What the benchmark reads from /proc: CPU time and memory of server processes, load, the machine. */
import { cpus } from "node:os";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return 0;
  // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
  const stat = readFileSync(file, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export const totalCpuSeconds = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

/** Resident set size in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : 0;
}

/** A process and its direct children (nginx: the master and its workers). */
export function withChildren(pid: number): number[] {
  const children = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
  return [pid, ...children];
}

export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

export function machine(): { cores: number; cpu: string; node: string; os: string } {
  const release = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    node: process.version,
    os: /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release)?.[1] ?? process.platform,
  };
}

/** The pid in <pidsDir>/<name>.pid (the stack's services), or a clear error. */
export function readPidFile(pidsDir: string, name: string): number {
  const pid = Number(readFileSync(`${pidsDir}/${name}.pid`, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid for ${name} in ${pidsDir}`);
  return pid;
}
