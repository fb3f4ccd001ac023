/**
 * The native stack: the same parts docker-compose.yml runs, as local processes on loopback.
 * FerretDB (MongoDB wire protocol, SQLite), Redis, MailDev, N app instances started exactly as
 * the container starts them (`node dist/server.js`, same env names), and nginx running the
 * project's own nginx/ templates in front of them.
 */
import { execFileSync } from "node:child_process";
import { createECDH, createHash, randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commandLine, listenersOn, procStat } from "./proc-info.js";
import { REDIS_APP_USER, appUserRules } from "./redis-acl.js";
import { isAlive, readPid, startProcess, stopProcess, tail } from "./processes.js";
import { ROOT, type StackSettings } from "./settings.js";
import { httpStatus, pingMongo, pingRedis, waitFor } from "./wait.js";

type Service = {
  name: string;
  start(s: StackSettings, secrets: Secrets): { command: string; args: string[]; env?: NodeJS.ProcessEnv };
  ready(s: StackSettings, secrets: Secrets): Promise<unknown>;
  /** The port its readiness is checked on: once ready, only the process just started may listen there. */
  port(s: StackSettings): number;
};

/** `redisPassword` is the app user's (REDIS_URL); `redisAdminPassword` Redis's `default` user's. */
type Secrets = {
  redisPassword: string;
  redisAdminPassword: string;
  sessionSecrets: string;
  masterKeys: string;
  /** Web Push's VAPID pair, base64url (raw P-256 keys, as web-push and browsers take them). */
  vapidPublicKey: string;
  vapidPrivateKey: string;
};
type AppSecrets = Pick<Secrets, "redisPassword" | "sessionSecrets" | "masterKeys"> &
  Partial<Pick<Secrets, "vapidPublicKey" | "vapidPrivateKey">>;

/**
 * FerretDB 1.24 (SQLite) gives each update command one of its 100 pooled SQLite connections for
 * the read and then waits for a second for the write; with 100 or more commands in flight they
 * can all hold one and wait forever (seen under scripts/bench, when 500 sockets closed at once
 * and each recorded its user's last-seen time). 20 per client keeps every client of the stack
 * together (two app instances, tests, tools) well below that. MongoDB 7 (Docker) needs no cap.
 */
const mongoUri = (s: StackSettings) => `mongodb://127.0.0.1:${s.mongoPort}/duet?maxPoolSize=20`;
/** The app's Redis user, limited to Duet's commands and keys by redis/app-user.acl. */
const redisUrl = (s: StackSettings, secrets: AppSecrets) =>
  `redis://${REDIS_APP_USER}:${secrets.redisPassword}@127.0.0.1:${s.redisPort}`;
/** Redis's `default` user, for tools and tests that inspect or administer Redis; never the app's. */
const redisAdminUrl = (s: StackSettings, secrets: Secrets) => `redis://:${secrets.redisAdminPassword}@127.0.0.1:${s.redisPort}`;

/** The local OpenID provider standing in for Google (scripts/oidc-provider.ts), and Duet's client there. */
const oidcIssuer = (s: StackSettings) => `https://${s.hostname}:${s.oidcPort}`;
const OIDC_CLIENT_ID = "duet-local";
const oidcClientSecret = (secrets: AppSecrets) =>
  createHash("sha256").update(`oidc-client:${secrets.sessionSecrets}`).digest("base64url");
export { GOOGLE_CALLBACK_PATH } from "../../src/oauth/paths.js";
import { GOOGLE_CALLBACK_PATH } from "../../src/oauth/paths.js";
import { PUSH_SERVICE_DEFAULTS } from "../../src/config.js";

function googleEnv(s: StackSettings, secrets: AppSecrets): NodeJS.ProcessEnv {
  const issuer = oidcIssuer(s);
  return {
    GOOGLE_CLIENT_ID: OIDC_CLIENT_ID,
    GOOGLE_CLIENT_SECRET: oidcClientSecret(secrets),
    GOOGLE_ISSUER: issuer,
    GOOGLE_AUTHORIZE_URL: `${issuer}/auth`,
    GOOGLE_TOKEN_URL: `${issuer}/token`,
    GOOGLE_JWKS_URL: `${issuer}/jwks`,
    GOOGLE_PICTURE_ORIGINS: issuer,
    // The provider's certificate is signed by the local authority, as nginx's is.
    NODE_EXTRA_CA_CERTS: join(s.certsDir, "ca.pem"),
  };
}

/** The app's environment: the same variable names docker-compose.yml sets. */
export function appEnv(s: StackSettings, secrets: AppSecrets, index: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(s.appPorts[index]),
    INSTANCE_NAME: `app-${index + 1}`,
    PUBLIC_URL: s.publicUrl,
    MONGODB_URI: mongoUri(s),
    REDIS_URL: redisUrl(s, secrets),
    SMTP_URL: `smtp://127.0.0.1:${s.smtpPort}`,
    MAIL_FROM: "Duet <no-reply@localhost>",
    SESSION_SECRETS: secrets.sessionSecrets,
    MASTER_KEYS: secrets.masterKeys,
    TRUSTED_PROXIES: "127.0.0.1,::1",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    // Attachment limits (the app's defaults unless set); nginx reads ATTACHMENT_MAX_MB too.
    ATTACHMENT_MAX_MB: process.env.ATTACHMENT_MAX_MB ?? "25",
    ATTACHMENT_QUOTA_MB: process.env.ATTACHMENT_QUOTA_MB ?? "2048",
    ATTACHMENT_UPLOADS_PER_HOUR: process.env.ATTACHMENT_UPLOADS_PER_HOUR ?? "120",
    ATTACHMENT_UNSENT_HOURS: process.env.ATTACHMENT_UNSENT_HOURS ?? "24",
    // SQLite has one writer, and FerretDB backs off in growing sleeps when it is taken: several
    // inserts in flight per instance stalled deliveries for tens of seconds (decision 005).
    MESSAGE_WRITES_IN_FLIGHT: s.ferretdbPostgresqlUrl ? "4" : "1",
    // For the same writer, room activity goes one update at a time, 20 ms apart (docs/benchmarks.md).
    ROOM_ACTIVITY_PAUSE_MS: s.ferretdbPostgresqlUrl ? "0" : "20",
    ...googleEnv(s, secrets),
    VAPID_PUBLIC_KEY: secrets.vapidPublicKey ?? "",
    VAPID_PRIVATE_KEY: secrets.vapidPrivateKey ?? "",
    // The browsers' push services, and this machine: the tests' push-service stand-in listens
    // on localhost (src/test/push-service.ts).
    PUSH_SERVICE_HOSTS: `${PUSH_SERVICE_DEFAULTS},localhost`,
  };
}

const infrastructure: Service[] = [
  {
    name: "ferretdb",
    start: (s) => {
      const data = join(s.dataDir, "ferretdb");
      mkdirSync(data, { recursive: true });
      // The SQLite handler by default; the PostgreSQL one against a cluster of your own when
      // STACK_FERRETDB_POSTGRESQL_URL is set (scripts/bench/postgres-cluster, decision 005).
      const backend = s.ferretdbPostgresqlUrl
        ? ["--handler=postgresql", `--postgresql-url=${s.ferretdbPostgresqlUrl}`]
        : ["--handler=sqlite", `--sqlite-url=file:${data}/`];
      return {
        command: s.ferretdbBin,
        args: [
          ...backend,
          `--state-dir=${data}`,
          `--listen-addr=127.0.0.1:${s.mongoPort}`,
          `--debug-addr=${process.env.FERRETDB_DEBUG_ADDR ?? "-"}`,
          "--telemetry=disable",
          "--log-level=warn",
        ],
      };
    },
    ready: (s) => pingMongo(mongoUri(s)),
    port: (s) => s.mongoPort,
  },
  {
    name: "redis",
    start: (s, secrets) => {
      const data = join(s.dataDir, "redis");
      mkdirSync(data, { recursive: true });
      // The passwords go in a 0600 file, not the command line, where `ps` would show them.
      const conf = join(data, "redis.conf");
      writeFileSync(
        conf,
        [
          `port ${s.redisPort}`,
          "bind 127.0.0.1",
          `dir ${data}`,
          // As in docker-compose.yml (redis/start.sh): the app gets only what it uses.
          `user default on >${secrets.redisAdminPassword} ~* &* +@all`,
          `user ${REDIS_APP_USER} on >${secrets.redisPassword} ${appUserRules()}`,
          "appendonly yes",
          "appendfsync everysec",
          'save ""',
          "daemonize no",
        ].join("\n") + "\n",
        { mode: 0o600 },
      );
      return { command: "redis-server", args: [conf] };
    },
    ready: (s, secrets) => pingRedis(redisUrl(s, secrets)),
    port: (s) => s.redisPort,
  },
  {
    name: "maildev",
    start: (s) => ({
      command: join(ROOT, "node_modules", ".bin", "maildev"),
      args: ["--smtp", String(s.smtpPort), "--web", String(s.mailWebPort), "--ip", "127.0.0.1", "--silent"],
    }),
    ready: (s) => httpStatus(`http://127.0.0.1:${s.mailWebPort}/email`, { expect: 200 }),
    port: (s) => s.mailWebPort,
  },
  {
    name: "oidc",
    start: (s, secrets) => ({
      command: process.execPath,
      args: ["--import", "tsx", join(ROOT, "scripts", "oidc-provider.ts")],
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        OIDC_ISSUER: oidcIssuer(s),
        OIDC_PORT: String(s.oidcPort),
        OIDC_CLIENT_ID,
        OIDC_CLIENT_SECRET: oidcClientSecret(secrets),
        OIDC_REDIRECT_URI: `${s.publicUrl}${GOOGLE_CALLBACK_PATH}`,
        OIDC_KEY_FILE: join(s.dataDir, "oidc", "signing-key.json"),
        OIDC_TLS_CERT: join(s.certsDir, "fullchain.pem"),
        OIDC_TLS_KEY: join(s.certsDir, "server.key"),
      },
    }),
    ready: (s) =>
      httpStatus(`${oidcIssuer(s)}/.well-known/openid-configuration`, { caFile: join(s.certsDir, "ca.pem"), expect: 200 }),
    port: (s) => s.oidcPort,
  },
];

function appService(index: number): Service {
  return {
    name: `app-${index + 1}`,
    start: (s, secrets) => ({
      command: process.execPath,
      // STACK_APP_NODE_ARGS: Node flags for profiling the app under load, e.g. "--cpu-prof
      // --cpu-prof-dir=/tmp/prof" (each instance writes its profile when stopped).
      args: [...(process.env.STACK_APP_NODE_ARGS ?? "").split(" ").filter(Boolean), join(ROOT, "dist", "server.js")],
      env: appEnv(s, secrets, index),
    }),
    ready: (s) => httpStatus(`http://127.0.0.1:${s.appPorts[index]}/readyz`, { expect: 200 }),
    port: (s) => s.appPorts[index] ?? 0,
  };
}

/** nginx's template variables: docker-compose.yml sets the same names for the nginx service. */
export function nginxEnv(s: StackSettings): NodeJS.ProcessEnv {
  return {
    PATH: `${process.env.PATH}:/usr/sbin`,
    SERVER_NAME: s.hostname,
    PUBLIC_URL: s.publicUrl,
    HTTP_PORT: String(s.httpPort),
    HTTPS_PORT: String(s.httpsPort),
    TLS_CERT: join(s.certsDir, "fullchain.pem"),
    TLS_KEY: join(s.certsDir, "server.key"),
    APP_UPSTREAMS: s.appPorts.map((p) => `127.0.0.1:${p}`).join(" "),
    // scripts/build-static's output: views/static plus fingerprinted copies.
    STATIC_ROOT: join(ROOT, "dist", "static"),
    ACME_ROOT: join(s.dir, "acme"),
    NGINX_RUN_DIR: join(s.dir, "nginx", "run"),
    NGINX_CONF_DIR: join(s.dir, "nginx"),
    MAIL_INBOX_UPSTREAM: `127.0.0.1:${s.mailWebPort}`,
    MAIL_INBOX_PORT: String(s.mailInboxPort),
    NGINX_LISTEN: "loopback",
    // The browser tests sign up and in from 127.0.0.1 many times a minute; the rate-limit
    // tests send from other loopback addresses (127.x.y.z), which stay limited.
    RATE_LIMIT_EXEMPT: "127.0.0.1 ::1",
    // The app's attachment limit, which nginx's body limit for uploads follows.
    ATTACHMENT_MAX_MB: process.env.ATTACHMENT_MAX_MB ?? "25",
  };
}

const nginx: Service = {
  name: "nginx",
  start: (s) => {
    const env = nginxEnv(s);
    // render.sh ends with `nginx -t`, which opens the config's /dev/stdout access log: that
    // fails (ENXIO) when stdout is a socket, as Node gives a child's, so its output goes to
    // nginx's log file, where the running nginx writes too.
    mkdirSync(s.logsDir, { recursive: true });
    const log = join(s.logsDir, "nginx.log");
    const fd = openSync(log, "a");
    try {
      execFileSync("sh", [join(ROOT, "nginx", "render.sh")], { env, stdio: ["ignore", fd, fd] });
    } catch (err) {
      throw new Error(`nginx/render.sh failed; the end of ${log}:\n${tail(log, 10)}`, { cause: err });
    } finally {
      closeSync(fd);
    }
    return { command: "nginx", args: ["-c", join(s.dir, "nginx", "nginx.conf"), "-g", "daemon off;"], env };
  },
  ready: (s) => httpStatus(`${s.publicUrl}/healthz`, { caFile: join(s.certsDir, "ca.pem"), expect: 200 }),
  port: (s) => s.httpsPort,
};

export function services(s: StackSettings): Service[] {
  return [...infrastructure, ...s.appPorts.map((_, i) => appService(i)), nginx];
}

/** The saved VAPID pair, or a new one (both halves always come from one pair). */
function vapidPair(saved: Partial<Secrets>): Pick<Secrets, "vapidPublicKey" | "vapidPrivateKey"> {
  if (saved.vapidPublicKey && saved.vapidPrivateKey)
    return { vapidPublicKey: saved.vapidPublicKey, vapidPrivateKey: saved.vapidPrivateKey };
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return {
    vapidPublicKey: ecdh.getPublicKey().toString("base64url"),
    vapidPrivateKey: ecdh.getPrivateKey().toString("base64url"),
  };
}

function loadSecrets(s: StackSettings): Secrets {
  const file = join(s.dir, "secrets.json");
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Partial<Secrets>) : {};
  // Each secret made once; one added since the file was written (the Redis admin password) is made now.
  const secrets: Secrets = {
    redisPassword: saved.redisPassword ?? randomBytes(24).toString("hex"),
    redisAdminPassword: saved.redisAdminPassword ?? randomBytes(24).toString("hex"),
    sessionSecrets: saved.sessionSecrets ?? randomBytes(32).toString("hex"),
    masterKeys: saved.masterKeys ?? `k1:${randomBytes(32).toString("base64")}`,
    ...vapidPair(saved),
  };
  if (Object.keys(saved).length !== Object.keys(secrets).length) {
    mkdirSync(s.dir, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return secrets;
}

/**
 * Processes on `port` that are not in `pgrp`, the group of the process just started: its
 * readiness check may have been answered by them (orphaned nginx workers, another stack).
 */
function foreignListeners(port: number, pgrp: number): number[] {
  return listenersOn(port).filter((pid) => procStat(pid)?.pgrp !== pgrp);
}

async function startService(s: StackSettings, secrets: Secrets, service: Service): Promise<"started" | "running"> {
  const existing = readPid(s.pidsDir, service.name);
  if (existing !== undefined) {
    try {
      await service.ready(s, secrets);
      return "running";
    } catch {
      await stopProcess(s, service.name);
    }
  } else {
    // Its leader is gone, but what it started may not be (nginx's workers after its master was killed).
    await stopProcess(s, service.name);
  }
  const port = service.port(s);
  const squatters = listenersOn(port);
  if (squatters.length > 0)
    throw new Error(
      `${service.name}: port ${port} is taken by ${squatters.map((pid) => `pid ${pid} (${commandLine(pid)})`).join(", ")}: stop it, or choose other ports with STACK_PORT_BASE`,
    );
  const { command, args, env } = service.start(s, secrets);
  const proc = startProcess(s, service.name, command, args, { env, cwd: ROOT });
  const failed = async (why: string, cause?: unknown) => {
    await stopProcess(s, service.name, 2000);
    return new Error(`${why}\n--- last lines of ${proc.log} ---\n${tail(proc.log)}`, { cause });
  };
  try {
    await waitFor(
      service.name,
      () => service.ready(s, secrets),
      60_000,
      () => isAlive(proc.pid),
    );
  } catch (err) {
    throw await failed(err instanceof Error ? err.message : String(err), err);
  }
  const others = foreignListeners(port, proc.pid);
  if (others.length > 0 || !isAlive(proc.pid))
    throw await failed(
      `${service.name}: what answered on port ${port} is not the ${service.name} just started (pid ${proc.pid}): ${others.map((pid) => `pid ${pid} (${commandLine(pid)})`).join(", ") || "it exited"}`,
    );
  return "started";
}

/** Starts everything that is not already running and ready; returns the stack's addresses. */
export async function up(s: StackSettings, log: (line: string) => void): Promise<Record<string, string>> {
  mkdirSync(s.dir, { recursive: true });
  execFileSync("sh", [join(ROOT, "scripts", "certs")], { env: { ...process.env, CERTS_DIR: s.certsDir }, stdio: "inherit" });
  const secrets = loadSecrets(s);
  const [infra, apps, proxy] = [infrastructure, s.appPorts.map((_, i) => appService(i)), [nginx]];
  if (apps.some((app) => readPid(s.pidsDir, app.name) === undefined)) {
    log("building the app (npm run build)");
    execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
  }
  // Before any app starts: the apps read dist/static/manifest.json once, at start-up, and nginx
  // serves the same files, so both must see one build.
  if (
    !existsSync(join(ROOT, "dist", "static", "manifest.json")) ||
    apps.some((app) => readPid(s.pidsDir, app.name) === undefined)
  ) {
    execFileSync("sh", [join(ROOT, "scripts", "build-static")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  }
  for (const group of [infra, apps, proxy]) {
    const results = await Promise.all(group.map(async (svc) => [svc.name, await startService(s, secrets, svc)] as const));
    for (const [name, result] of results) log(`${name.padEnd(9)} ${result}`);
  }
  const env = stackEnv(s, secrets);
  writeFileSync(
    join(s.dir, "env"),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n",
    { mode: 0o600 },
  );
  return env;
}

/** The contract other tools read from `.stack/env`. */
export function stackEnv(s: StackSettings, secrets: Secrets): Record<string, string> {
  return {
    APP_URL: s.publicUrl,
    HTTP_URL: `http://${s.hostname}:${s.httpPort}`,
    MAIL_URL: `https://${s.hostname}:${s.mailInboxPort}`,
    SMTP_URL: `smtp://127.0.0.1:${s.smtpPort}`,
    MONGODB_URI: mongoUri(s),
    REDIS_URL: redisUrl(s, secrets),
    REDIS_ADMIN_URL: redisAdminUrl(s, secrets),
    APP_INSTANCES: s.appPorts.map((p) => `http://127.0.0.1:${p}`).join(","),
    SESSION_SECRETS: secrets.sessionSecrets,
    MASTER_KEYS: secrets.masterKeys,
    OIDC_URL: oidcIssuer(s),
    GOOGLE_CLIENT_ID: OIDC_CLIENT_ID,
    GOOGLE_CLIENT_SECRET: oidcClientSecret(secrets),
    CA_CERT: join(s.certsDir, "ca.pem"),
    STACK_DIR: s.dir,
  };
}

/** Stops every process (apps first, so they drain while their databases still answer) and removes the data. */
export async function down(s: StackSettings, log: (line: string) => void): Promise<void> {
  for (const group of [[nginx], s.appPorts.map((_, i) => appService(i)), infrastructure]) {
    await Promise.all(
      group.map(async (svc) => {
        if (await stopProcess(s, svc.name)) log(`${svc.name.padEnd(9)} stopped`);
      }),
    );
  }
  rmSync(s.dir, { recursive: true, force: true });
}

export async function status(s: StackSettings): Promise<Array<{ name: string; pid?: number; state: string }>> {
  const secrets = existsSync(join(s.dir, "secrets.json")) ? loadSecrets(s) : undefined;
  return Promise.all(
    services(s).map(async (svc) => {
      const pid = readPid(s.pidsDir, svc.name);
      if (pid === undefined || !secrets) return { name: svc.name, state: "stopped" };
      try {
        await svc.ready(s, secrets);
        return { name: svc.name, pid, state: "ready" };
      } catch (err) {
        return { name: svc.name, pid, state: `not ready: ${err instanceof Error ? err.message : err}` };
      }
    }),
  );
}

/** Stops one service (for tests that take a dependency away and bring it back); `graceMs: 0` kills it at once, as a crash would (no graceful goodbye to clients). */
export async function stopOne(s: StackSettings, name: string, options: { graceMs?: number } = {}): Promise<void> {
  if (!services(s).some((svc) => svc.name === name)) throw new Error(`no service named ${name}`);
  await stopProcess(s, name, options.graceMs);
}

/** Starts one service unless it is running and ready; answers which. */
export async function startOne(s: StackSettings, name: string): Promise<"started" | "running"> {
  const service = services(s).find((svc) => svc.name === name);
  if (!service) throw new Error(`no service named ${name}`);
  return startService(s, loadSecrets(s), service);
}

/**
 * Freezes one service (SIGSTOP to its process group) or thaws it (SIGCONT): a process that hangs
 * without dying, which no health check or closed socket reveals. For the chaos harness.
 */
export function pauseOne(s: StackSettings, name: string): void {
  signalOne(s, name, "SIGSTOP");
}

export function resumeOne(s: StackSettings, name: string): void {
  signalOne(s, name, "SIGCONT");
}

function signalOne(s: StackSettings, name: string, sig: NodeJS.Signals): void {
  if (!services(s).some((svc) => svc.name === name)) throw new Error(`no service named ${name}`);
  const pid = readPid(s.pidsDir, name);
  if (pid === undefined) throw new Error(`${name} is not running`);
  process.kill(-pid, sig);
}
