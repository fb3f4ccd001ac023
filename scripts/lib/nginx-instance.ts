/**
 * A separate nginx for tests, rendered from the project's own nginx/ templates by
 * nginx/render.sh, exactly as the stack's and the Docker image's are, but on ports and
 * directories of its own, so a test can give it another certificate, upstream or port
 * without touching the stack that other tests and the browser tests use.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import assert from "node:assert/strict";
import { once } from "node:events";
import { writersTo } from "./proc-info.js";
import { ROOT } from "./settings.js";
import { waitFor } from "./wait.js";

export type NginxInstance = {
  env: NodeJS.ProcessEnv;
  httpPort: number;
  httpsPort: number;
  /** Re-renders the config and reloads gracefully (nginx/reload.sh, as in production). */
  reload(): void;
  stop(): Promise<void>;
};

/** A TCP port nothing listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

function acceptsConnections(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve();
    });
    socket.on("error", reject);
  });
}

/**
 * Starts nginx from the templates in `dir` with the given settings on top of loopback-only
 * defaults; resolves once its https port accepts connections.
 */
export async function startNginx(
  dir: string,
  settings: { httpPort?: number; httpsPort?: number } & Record<string, string | number | undefined>,
): Promise<NginxInstance> {
  const httpPort = settings.httpPort ?? (await freePort());
  const httpsPort = settings.httpsPort ?? (await freePort());
  mkdirSync(dir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: `${process.env.PATH}:/usr/sbin`,
    SERVER_NAME: "localhost",
    PUBLIC_URL: httpsPort === 443 ? "https://localhost" : `https://localhost:${httpsPort}`,
    STATIC_ROOT: join(ROOT, "dist", "static"),
    ACME_ROOT: join(dir, "acme"),
    NGINX_RUN_DIR: join(dir, "run"),
    NGINX_CONF_DIR: join(dir, "conf"),
    NGINX_LISTEN: "loopback",
    ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, v === undefined ? undefined : String(v)])),
    HTTP_PORT: String(httpPort),
    HTTPS_PORT: String(httpsPort),
  };
  // nginx logs to /dev/stdout and /dev/stderr, which must be files or pipes (not the sockets
  // Node would give it), so both go to a log file.
  const log = join(dir, "nginx.log");
  const withLog = (fn: (fd: number) => void) => {
    const fd = openSync(log, "a");
    try {
      fn(fd);
    } catch (err) {
      throw new Error(`nginx failed; ${log} says:\n${readFileSync(log, "utf8").slice(-2000)}`, { cause: err });
    } finally {
      closeSync(fd);
    }
  };
  const script = (name: string) =>
    withLog((fd) => execFileSync("sh", [join(ROOT, "nginx", name)], { env, stdio: ["ignore", fd, fd] }));
  script("render.sh");
  const conf = join(dir, "conf", "nginx.conf");
  let child: ChildProcess | undefined;
  withLog((fd) => (child = spawn("nginx", ["-c", conf, "-g", "daemon off;"], { env, stdio: ["ignore", fd, fd] })));
  if (!child) throw new Error("nginx did not start");
  const nginx = child;
  const exited = once(nginx, "exit");
  await waitFor(
    "test nginx",
    () => acceptsConnections(httpsPort),
    10_000,
    () => nginx.exitCode === null,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${readFileSync(log, "utf8").slice(-2000)}`);
  });
  return {
    env,
    httpPort,
    httpsPort,
    reload: () => script("reload.sh"),
    async stop() {
      if (nginx.exitCode === null) {
        nginx.kill("SIGQUIT"); // graceful: finish open requests, then exit
        await exited;
      }
      // A master that died badly (kill -9) leaves its workers holding the ports; they still
      // write to this instance's log, which is how they are told from anyone else's.
      for (const pid of writersTo(log)) process.kill(pid, "SIGKILL");
      await waitFor("nginx's leftover workers to exit", async () => assert.deepEqual(writersTo(log), []), 5000);
    },
  };
}
