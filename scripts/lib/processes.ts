/** Background processes for the native stack: started detached, tracked by pid files. */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fdTarget, groupMembers, procStat } from "./proc-info.js";

export type Spawned = { name: string; pid: number; log: string };
export type ProcessDirs = { pidsDir: string; logsDir: string };

/** Running, and not a zombie: an exited process nobody has reaped still answers `kill -0`. */
export function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/** The pid the file records, alive or not. */
function recordedPid(pidsDir: string, name: string): number | undefined {
  const file = join(pidsDir, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function readPid(pidsDir: string, name: string): number | undefined {
  const pid = recordedPid(pidsDir, name);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

const logOf = (dirs: ProcessDirs, name: string) => join(dirs.logsDir, `${name}.log`);

/**
 * Every live process of `name`'s last start: the members of the process group it was started
 * in (its pid) whose output still goes to its log. After `kill -9` of nginx's master, its
 * workers live on in that group, still serving the old config on the old sockets. Both tests
 * must hold, so a process that merely got a reused number is never touched.
 */
function membersOf(dirs: ProcessDirs, name: string): number[] {
  const leader = recordedPid(dirs.pidsDir, name);
  if (leader === undefined) return [];
  const log = logOf(dirs, name);
  return groupMembers(leader).filter((pid) => [1, 2].some((fd) => fdTarget(pid, fd) === log));
}

/** Starts `command` in its own process group, output appended to logs/<name>.log. */
export function startProcess(
  dirs: ProcessDirs,
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Spawned {
  mkdirSync(dirs.pidsDir, { recursive: true });
  mkdirSync(dirs.logsDir, { recursive: true });
  const log = logOf(dirs, name);
  const fd = openSync(log, "a");
  const child = spawn(command, args, {
    detached: true,
    stdio: ["ignore", fd, fd],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  writeFileSync(join(dirs.pidsDir, `${name}.pid`), String(child.pid));
  return { name, pid: child.pid, log };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM to the process group, then SIGKILL to what has not exited within `graceMs`. With the
 * leader already dead (a crash, `kill -9`), the processes it left behind are stopped instead.
 * Answers whether anything was running.
 */
export async function stopProcess(dirs: ProcessDirs, name: string, graceMs = 10_000): Promise<boolean> {
  const leader = readPid(dirs.pidsDir, name);
  const members = membersOf(dirs, name);
  rmSync(join(dirs.pidsDir, `${name}.pid`), { force: true });
  const targets = [...new Set([...(leader === undefined ? [] : [leader]), ...members])];
  if (targets.length === 0) return false;
  const send = (sig: NodeJS.Signals) => {
    // The whole group while its leader lives (children it started included); else one by one,
    // only the processes identified as this service's.
    if (leader !== undefined && isAlive(leader)) signal(-leader, sig);
    for (const pid of targets) if (isAlive(pid)) signal(pid, sig);
  };
  const running = () => targets.some(isAlive);
  send("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (running() && Date.now() < deadline) await sleep(50);
  if (running()) send("SIGKILL");
  while (running()) await sleep(20);
  return true;
}

/** The last lines of a log, to explain why something did not start. */
export function tail(file: string, lines = 25): string {
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}
