/** Background processes for the native stack: started detached, tracked by pid files. */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export type Spawned = { name: string; pid: number; log: string };

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readPid(pidsDir: string, name: string): number | undefined {
  const file = join(pidsDir, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Starts `command` in its own process group, output appended to logs/<name>.log. */
export function startProcess(
  dirs: { pidsDir: string; logsDir: string },
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Spawned {
  mkdirSync(dirs.pidsDir, { recursive: true });
  mkdirSync(dirs.logsDir, { recursive: true });
  const log = join(dirs.logsDir, `${name}.log`);
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

/** SIGTERM to the process group, then SIGKILL if it has not exited within `graceMs`. */
export async function stopProcess(pidsDir: string, name: string, graceMs = 10_000): Promise<boolean> {
  const pid = readPid(pidsDir, name);
  rmSync(join(pidsDir, `${name}.pid`), { force: true });
  if (pid === undefined) return false;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) signal("SIGKILL");
  while (isAlive(pid)) await sleep(20);
  return true;
}

/** The last lines of a log, to explain why something did not start. */
export function tail(file: string, lines = 25): string {
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}
