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

/** The /proc/<pid>/stat fields after the command name, or undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Every live process whose parent is in `pids`, and theirs, and so on. */
function descendants(pids: readonly number[]): number[] {
  const parents = new Set(pids);
  const all = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => [Number(name), Number(statFields(Number(name))?.[1])] as const);
  const found: number[] = [];
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of all)
      if (parents.has(ppid) && !parents.has(pid)) {
        parents.add(pid);
        found.push(pid);
        grew = true;
      }
  }
  return found;
}

/**
 * CPU seconds of a process and everything under it, looked up now: PostgreSQL's server forks a
 * process per connection (FerretDB opens them as it needs them). Each live process's own time
 * plus what its children that have exited used (cutime, cstime): nothing is counted twice, and
 * a connection that closes between two readings still counts.
 */
export function treeCpuSeconds(pid: number): number {
  return [pid, ...descendants([pid])].reduce((sum, p) => {
    const f = statFields(p);
    return f ? sum + (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND : sum;
  }, 0);
}

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
