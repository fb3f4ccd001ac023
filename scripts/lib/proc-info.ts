/**
 * What Linux's /proc says about the stack's processes: whether one has exited (a zombie that
 * nobody reaped answers `kill -0` like a live process), which processes are left in a process
 * group, where their output goes, and who listens on a port. The native stack runs on Linux
 * only (scripts/install), so /proc is always there.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";

/** A process's state letter (R, S, Z, …) and process group, or undefined once it is gone. */
export function procStat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name, in parentheses, may itself hold spaces or parentheses: split after the last ")".
    const [state = "", , pgrp = ""] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state, pgrp: Number(pgrp) };
  } catch {
    return undefined;
  }
}

function pids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Where a process's file descriptor points (a path, `socket:[inode]`, …), if it can be read. */
export function fdTarget(pid: number, fd: number | string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Live (not zombie) members of process group `pgrp`. */
export function groupMembers(pgrp: number): number[] {
  return pids().filter((pid) => {
    const stat = procStat(pid);
    return stat !== undefined && stat.pgrp === pgrp && stat.state !== "Z";
  });
}

/** Live processes whose standard output or error is `file`: what a process left behind still writes there. */
export function writersTo(file: string): number[] {
  return pids().filter((pid) => procStat(pid)?.state !== "Z" && [1, 2].some((fd) => fdTarget(pid, fd) === file));
}

/** Socket inodes listening on TCP `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue; // no IPv6 on this machine
    for (const row of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = row.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === "0A" && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** The processes holding a socket that listens on TCP `port`. */
export function listenersOn(port: number): number[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  return pids().filter((pid) => {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return false; // gone meanwhile
    }
    return fds.some((fd) => {
      const target = fdTarget(pid, fd);
      return target?.startsWith("socket:[") === true && inodes.has(target.slice(8, -1));
    });
  });
}

/** A process's command line, for messages. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "(gone)";
  }
}

export type TcpConnection = { localPort: number; remotePort: number; txQueue: number; rxQueue: number; inode: string };

/**
 * Established TCP connections (IPv4 and IPv6) with their queues: bytes sent and not yet
 * acknowledged (tx), and bytes received that the owner has not read yet (rx). A stopped process
 * still receives (the kernel queues for it), so what waits in its rx queue is what it was sent.
 */
export function tcpConnections(): TcpConnection[] {
  const rows: TcpConnection[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const row of readFileSync(table, "utf8").split("\n").slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:when retrnsmt uid timeout inode
      const [, local = "", remote = "", state, queues = "", , , , , inode = ""] = row.trim().split(/\s+/);
      if (state !== "01") continue; // ESTABLISHED
      const [tx = "0", rx = "0"] = queues.split(":");
      const portOf = (address: string) => parseInt(address.slice(address.lastIndexOf(":") + 1), 16);
      rows.push({
        localPort: portOf(local),
        remotePort: portOf(remote),
        txQueue: parseInt(tx, 16),
        rxQueue: parseInt(rx, 16),
        inode,
      });
    }
  }
  return rows;
}

/** The inodes of the sockets a process holds open. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes; // gone
  }
  for (const fd of fds) {
    const target = fdTarget(pid, fd);
    if (target?.startsWith("socket:[")) inodes.add(target.slice(8, -1));
  }
  return inodes;
}
