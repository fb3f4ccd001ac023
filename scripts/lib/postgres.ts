/**
 * The native stack's PostgreSQL 15 cluster (Debian's package), behind FerretDB's postgresql
 * handler (decision 021). One cluster per stack: created on the first `up`, wiped on `down`.
 *
 * Least privilege: FerretDB logs in as `ferretdb`, a role that is no superuser and owns only
 * its database, with a password (scram-sha-256) from the stack's secrets. pg_hba.conf admits
 * that role to that database from 127.0.0.1 and nothing else; there is no Unix socket, so the
 * bootstrap superuser is reachable only in single-user mode, which is how the role is made.
 * PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { StackSettings } from "./settings.js";

const asRoot = () => process.getuid?.() === 0;
export const POSTGRES_DB = "ferretdb";
export const POSTGRES_ROLE = "ferretdb";

/**
 * Where the cluster's files live: in the stack's data directory, unless the server runs as the
 * `postgres` user (we are root) and cannot reach it (a checkout under /root, mode 0700); then in
 * the system's temporary directory, named after the stack's directory, and wiped with it.
 */
export function clusterDir(s: StackSettings): string {
  const inStack = join(s.dataDir, "postgres");
  if (!asRoot() || othersMayEnter(s.dir)) return inStack;
  const id = createHash("sha256").update(s.dir).digest("hex").slice(0, 12);
  return join(tmpdir(), `duet-stack-postgres-${id}`);
}

/** Whether every existing directory from / down to `dir` lets other users pass (o+x). */
function othersMayEnter(dir: string): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0) return false;
    if (d === dirname(d)) return true;
  }
}

/** A PostgreSQL program, run as the cluster's owner. */
function ownerCommand(s: StackSettings, program: string, args: string[]): { command: string; args: string[] } {
  const path = join(s.postgresBin, program);
  return asRoot() ? { command: "runuser", args: ["-u", "postgres", "--", path, ...args] } : { command: path, args };
}

/** Server settings: durable like the other stand-ins (fsync and synchronous_commit on, the defaults). */
const serverArgs = (s: StackSettings) => [
  "-c",
  "listen_addresses=127.0.0.1",
  "-c",
  `port=${s.postgresPort}`,
  "-c",
  "unix_socket_directories=",
  // FerretDB's pool, per instance of it, plus the stack's few tools.
  "-c",
  "max_connections=200",
];

/** initdb, then the role and its database in single-user mode (the SQL on stdin, not in `ps`). */
function createCluster(s: StackSettings, dir: string, password: string): void {
  rmSync(dir, { recursive: true, force: true });
  // The directories above it with the usual mode (a recursive mkdir would give them 0700 too).
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { mode: 0o700 });
  if (asRoot()) {
    const owner = statSync("/var/lib/postgresql");
    chownSync(dir, owner.uid, owner.gid);
  }
  const initdb = ownerCommand(s, "initdb", [
    "-D",
    dir,
    "-U",
    "postgres",
    "--auth=reject",
    "--encoding=UTF8",
    "--no-instructions",
  ]);
  execFileSync(initdb.command, initdb.args, { stdio: ["ignore", "ignore", "inherit"] });
  writeFileSync(
    join(dir, "pg_hba.conf"),
    `# FerretDB's role, its database, over TCP from this machine only (scripts/lib/postgres.ts).\n` +
      `host ${POSTGRES_DB} ${POSTGRES_ROLE} 127.0.0.1/32 scram-sha-256\n`,
  );
  const single = ownerCommand(s, "postgres", ["--single", "-D", dir, ...serverArgs(s), "template1"]);
  // Its log (a checkpoint at the end) says nothing useful unless it fails; then it is the error.
  execFileSync(single.command, single.args, {
    input:
      `CREATE ROLE ${POSTGRES_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password}';\n` +
      `CREATE DATABASE ${POSTGRES_DB} OWNER ${POSTGRES_ROLE};\n`,
    stdio: ["pipe", "ignore", "pipe"],
  });
  writeFileSync(stampFile(dir), stamp(password));
  // pg_hba.conf was written as root: the server must be able to read it.
  if (asRoot()) {
    const owner = statSync(dir);
    chownSync(join(dir, "pg_hba.conf"), owner.uid, owner.gid);
  }
}

/** Which password the cluster's role was made with, so a cluster left from a removed stack is not reused. */
const stampFile = (dir: string) => join(dir, "duet-role-password.sha256");
const stamp = (password: string) => createHash("sha256").update(password).digest("hex");

/** The server in the foreground (the stack tracks its process), the cluster made first if need be. */
export function startPostgres(s: StackSettings, password: string): { command: string; args: string[] } {
  const dir = clusterDir(s);
  const current =
    existsSync(join(dir, "PG_VERSION")) && existsSync(stampFile(dir)) && readFileSync(stampFile(dir), "utf8") === stamp(password);
  if (!current) createCluster(s, dir, password);
  return ownerCommand(s, "postgres", ["-D", dir, ...serverArgs(s)]);
}

/** Accepting connections (pg_isready: no login needed). */
export function postgresReady(s: StackSettings): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(join(s.postgresBin, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(s.postgresPort)], (err) =>
      err ? reject(new Error(`PostgreSQL on port ${s.postgresPort} is not accepting connections`)) : resolve(),
    ),
  );
}

export const postgresUrl = (s: StackSettings, password: string) =>
  `postgres://${POSTGRES_ROLE}:${password}@127.0.0.1:${s.postgresPort}/${POSTGRES_DB}`;

/** Removes the cluster's files (after the server has stopped). */
export function wipeCluster(s: StackSettings): void {
  rmSync(clusterDir(s), { recursive: true, force: true });
}
