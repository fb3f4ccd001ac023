/**
 * The bench's view of the native stack: it starts one through `scripts/stack` (its command line,
 * with the bench's directory and ports in the child's environment), then knows it only by what
 * `scripts/stack up` publishes: the addresses in <dir>/env and the pid files in <dir>/pids. The
 * bench's own ports (edges, relays, probe instance, FerretDB's metrics) come from the same base.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { readStackEnv, type StackEnv } from "../lib/stack-env.js";
import { httpStatus } from "../lib/wait.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Ports the bench adds, from its port base. They sit below Linux's ephemeral range
 * (32768-60999): the bench opens and closes thousands of client sockets, and a port in that range
 * may be taken by one of them when an edge starts (EADDRINUSE). For base 29400: 29451-29466,
 * beside the stack's own (base + 1 to base + 90; the stack too sits below that range by
 * default: at 39400 its nginx once failed to bind 39480 for the same reason).
 */
export const benchPorts = (base: number) => {
  const low = 20_000 + (base % 10_000);
  return {
    relays: [low + 51, low + 52] as const,
    probe: low + 55,
    edgesHttps: [low + 61, low + 62] as const,
    edgesHttp: [low + 63, low + 64] as const,
    ferretdbMetrics: low + 66,
  };
};

export type BenchStack = {
  env: StackEnv;
  dir: string;
  note: string;
  /** The pid of one of the stack's services (app-1, app-2, redis, ferretdb), from its pid file. */
  pid(name: string): number;
  /** The database's processes: FerretDB, and PostgreSQL's server when the stack runs one. */
  dbPids(): number[];
  /** FerretDB's Prometheus metrics, when the stack was started with them (the bench's own start). */
  metricsUrl: string | undefined;
};

async function answers(env: StackEnv): Promise<void> {
  for (const url of env.APP_INSTANCES.split(",")) await httpStatus(`${url}/readyz`, { expect: 200 });
  await httpStatus(`${env.APP_URL}/healthz`, { caFile: env.CA_CERT, expect: 200 });
}

/** The stack in `dir`: the one running there, or one started there (wiped first with `fresh`). */
export async function benchStack(
  dir: string,
  portBase: number,
  fresh: boolean,
  log: (line: string) => void,
): Promise<BenchStack> {
  const metricsAddr = `127.0.0.1:${benchPorts(portBase).ferretdbMetrics}`;
  const run = (command: string) =>
    execFileSync("bash", [join(ROOT, "scripts", "stack"), command], {
      cwd: ROOT,
      stdio: "inherit",
      env: { ...process.env, STACK_DIR: dir, STACK_PORT_BASE: String(portBase), FERRETDB_DEBUG_ADDR: metricsAddr },
    });
  let note: string;
  if (fresh) {
    log(`--fresh-stack: wiping and starting the native stack in ${relative(ROOT, dir)} (port base ${portBase})`);
    run("down");
  }
  try {
    if (fresh) throw new Error("fresh");
    const env = readStackEnv(dir);
    await answers(env);
    note = `Used the native stack already running in ${relative(ROOT, dir)} (${env.APP_URL}).`;
  } catch {
    if (!fresh) log(`no stack answers in ${dir}: starting one (port base ${portBase})`);
    run("up");
    note = `Started the native stack afresh in ${relative(ROOT, dir)}.`;
  }
  const env = readStackEnv(dir);
  await answers(env);
  const metricsUrl = `http://${metricsAddr}/debug/metrics`;
  const metrics = await fetch(metricsUrl)
    .then((r) => r.ok)
    .catch(() => false);
  const pid = (name: string) => {
    const file = join(dir, "pids", `${name}.pid`);
    const value = existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : NaN;
    if (!Number.isInteger(value) || value <= 0) throw new Error(`no pid for ${name} in ${dir}/pids`);
    return value;
  };
  return {
    env,
    dir,
    note,
    metricsUrl: metrics ? metricsUrl : undefined,
    pid,
    dbPids: () => (existsSync(join(dir, "pids", "postgres.pid")) ? [pid("ferretdb"), pid("postgres")] : [pid("ferretdb")]),
  };
}

/** The environment of one more app instance on `port`, as the stack runs its own (from <dir>/env). */
export function probeAppEnv(env: StackEnv, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(port),
    INSTANCE_NAME: "bench-probe",
    PUBLIC_URL: env.APP_URL,
    MONGODB_URI: env.MONGODB_URI,
    REDIS_URL: env.REDIS_URL,
    SMTP_URL: env.SMTP_URL,
    MAIL_FROM: "Duet <no-reply@localhost>",
    SESSION_SECRETS: env.SESSION_SECRETS,
    MASTER_KEYS: env.MASTER_KEYS,
    TRUSTED_PROXIES: "127.0.0.1,::1",
    LOG_LEVEL: "warn",
  };
}

/**
 * An nginx edge in front of one upstream, rendered from the project's own templates (TLS, the
 * /ws/ proxy) with the stack's certificate.
 */
export function edgeEnv(
  env: StackEnv,
  confDir: string,
  ports: { https: number; http: number; upstream: number },
): NodeJS.ProcessEnv {
  const certs = dirname(env.CA_CERT);
  return {
    PATH: `${process.env.PATH}:/usr/sbin`,
    SERVER_NAME: new URL(env.APP_URL).hostname,
    PUBLIC_URL: env.APP_URL,
    HTTP_PORT: String(ports.http),
    HTTPS_PORT: String(ports.https),
    TLS_CERT: join(certs, "fullchain.pem"),
    TLS_KEY: join(certs, "server.key"),
    APP_UPSTREAMS: `127.0.0.1:${ports.upstream}`,
    STATIC_ROOT: join(ROOT, "dist", "static"),
    ACME_ROOT: join(confDir, "acme"),
    NGINX_RUN_DIR: join(confDir, "run"),
    NGINX_CONF_DIR: confDir,
    MAIL_INBOX_UPSTREAM: "",
    NGINX_LISTEN: "loopback",
    RATE_LIMIT_EXEMPT: "127.0.0.1 ::1",
  };
}
