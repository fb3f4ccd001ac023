/**
 * Where the native stack lives and which ports it uses. Every port derives from
 * STACK_PORT_BASE (default 8400) so a second stack (the test run's) can sit beside a
 * developer's without clashing; each can also be set on its own.
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

function portFrom(name: string, offset: number, base: number): number {
  const raw = process.env[name];
  const port = raw ? Number(raw) : base + offset;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} must be a port number (got ${raw})`);
  return port;
}

export type StackSettings = ReturnType<typeof stackSettings>;

function stackDatabase(): "postgresql" | "sqlite" {
  const raw = process.env.STACK_DB ?? "sqlite";
  if (raw !== "postgresql" && raw !== "sqlite") throw new Error(`STACK_DB must be postgresql or sqlite (got ${raw})`);
  return raw;
}

export function stackSettings() {
  const base = Number(process.env.STACK_PORT_BASE ?? 8400);
  if (!Number.isInteger(base) || base < 1024 || base > 65000) throw new Error(`STACK_PORT_BASE must be between 1024 and 65000`);
  const dir = resolve(ROOT, process.env.STACK_DIR ?? ".stack");
  const appCount = Number(process.env.STACK_APPS ?? 2);
  if (!Number.isInteger(appCount) || appCount < 1 || appCount > 8) throw new Error("STACK_APPS must be 1 to 8");
  const hostname = process.env.STACK_HOSTNAME ?? "localhost";
  const httpsPort = portFrom("STACK_HTTPS_PORT", 43, base);
  const settings = {
    dir,
    hostname,
    httpsPort,
    httpPort: portFrom("STACK_HTTP_PORT", 80, base),
    appPorts: Array.from({ length: appCount }, (_, i) => portFrom(`STACK_APP${i + 1}_PORT`, 1 + i, base)),
    mongoPort: portFrom("STACK_MONGO_PORT", 17, base),
    redisPort: portFrom("STACK_REDIS_PORT", 79, base),
    smtpPort: portFrom("STACK_SMTP_PORT", 25, base),
    mailWebPort: portFrom("STACK_MAIL_WEB_PORT", 8, base),
    mailInboxPort: portFrom("STACK_MAIL_INBOX_PORT", 26, base),
    oidcPort: portFrom("STACK_OIDC_PORT", 90, base),
    publicUrl: httpsPort === 443 ? `https://${hostname}` : `https://${hostname}:${httpsPort}`,
    certsDir: resolve(ROOT, process.env.CERTS_DIR ?? "certs"),
    ferretdbBin:
      process.env.FERRETDB_BIN ??
      join(process.env.DUET_TOOLS_DIR ?? join(homedir(), ".cache", "duet"), "ferretdb-v1.24.2", "ferretdb"),
    /** FerretDB's backend: SQLite files, or a PostgreSQL 15 cluster of the stack's own (STACK_DB=postgresql, decision 021). */
    database: stackDatabase(),
    postgresPort: portFrom("STACK_POSTGRES_PORT", 32, base),
    postgresBin: process.env.POSTGRES_BIN_DIR ?? "/usr/lib/postgresql/15/bin",
    logsDir: join(dir, "logs"),
    pidsDir: join(dir, "pids"),
    dataDir: join(dir, "data"),
  };
  return settings;
}
