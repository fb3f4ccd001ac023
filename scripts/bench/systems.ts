/**
 * The three systems under the same load and the same topology: two instances, one Redis, and
 * in front of each instance an nginx rendered from the project's own templates (TLS, the /ws/
 * proxy) with that one instance as its upstream, so Alice always lands on instance A and Bob on
 * instance B and every message crosses Redis. The stack's own nginx balances over both
 * instances and cannot be told where a socket goes.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { readPid, startProcess, stopProcess } from "../lib/processes.js";
import { httpStatus, waitFor } from "../lib/wait.js";
import { connectDuet, connectSocketIo, connectWsRelay, type Conn, type ConnectOptions } from "./clients.js";
import { withChildren } from "./proc.js";
import { benchPorts, edgeEnv, ROOT, type BenchStack } from "./stack.js";

export type SystemKey = "duet" | "ws" | "socketio";

export type System = {
  key: SystemKey;
  label: string;
  /** The processes whose CPU counts as "the server". */
  appPids(): number[];
  /** Starts what the bench owns (relays, the two edges); returns their https URLs, A then B. */
  start(): Promise<[string, string]>;
  stop(): Promise<void>;
  connect(options: ConnectOptions & { after: number }): Promise<Conn>;
};

/** The stack under test, the bench's own directory (pids, logs, edges) and its port base. */
export type BenchPlace = { stack: BenchStack; dir: string; portBase: number };

const dirsOf = (place: BenchPlace) => ({ pidsDir: join(place.dir, "pids"), logsDir: join(place.dir, "logs") });

async function startEdges(place: BenchPlace, upstreams: readonly number[]): Promise<[string, string]> {
  const ports = benchPorts(place.portBase);
  const urls = await Promise.all(
    (["a", "b"] as const).map(async (side, i) => {
      const confDir = join(place.dir, `nginx-${side}`);
      const env = edgeEnv(place.stack.env, confDir, {
        https: ports.edgesHttps[i] ?? 0,
        http: ports.edgesHttp[i] ?? 0,
        upstream: upstreams[i] ?? 0,
      });
      execFileSync("sh", [join(ROOT, "nginx", "render.sh")], { env, stdio: ["ignore", "ignore", "inherit"] });
      const name = `edge-${side}`;
      await stopProcess(dirsOf(place), name);
      startProcess(dirsOf(place), name, "nginx", ["-c", join(confDir, "nginx.conf"), "-g", "daemon off;"], { env });
      const url = `https://localhost:${ports.edgesHttps[i]}`;
      await waitFor(name, () => httpStatus(`${url}/healthz`, { caFile: place.stack.env.CA_CERT, expect: 200 }), 20_000);
      return url;
    }),
  );
  return [urls[0] ?? "", urls[1] ?? ""];
}

async function stopEdges(place: BenchPlace): Promise<void> {
  await Promise.all(["edge-a", "edge-b"].map((name) => stopProcess(dirsOf(place), name)));
}

/** nginx masters and workers of the two edges, for the "whole stack" CPU figure. */
export function edgePids(place: BenchPlace): number[] {
  return ["edge-a", "edge-b"].flatMap((name) => {
    const pid = readPid(dirsOf(place).pidsDir, name);
    return pid === undefined ? [] : withChildren(pid);
  });
}

export function duetSystem(place: BenchPlace): System {
  const ports = place.stack.env.APP_INSTANCES.split(",").map((u) => Number(new URL(u).port));
  return {
    key: "duet",
    label: "Duet",
    appPids: () => ports.map((_, i) => place.stack.pid(`app-${i + 1}`)),
    start: () => startEdges(place, ports),
    stop: () => stopEdges(place),
    connect: (o) => connectDuet({ ...o, origin: place.stack.env.APP_URL }),
  };
}

function relaySystem(place: BenchPlace, key: SystemKey, label: string, file: string, connect: System["connect"]): System {
  const ports = benchPorts(place.portBase).relays;
  const names = ports.map((_, i) => `${key}-relay-${i + 1}`);
  return {
    key,
    label,
    appPids: () => names.map((name) => readPid(dirsOf(place).pidsDir, name) ?? 0).filter((pid) => pid > 0),
    async start() {
      await Promise.all(
        names.map(async (name, i) => {
          await stopProcess(dirsOf(place), name);
          const env = {
            PATH: process.env.PATH,
            NODE_ENV: "production",
            PORT: String(ports[i]),
            // Not Duet: its own key and channel names (bench:*), outside the app user's.
            REDIS_URL: place.stack.env.REDIS_ADMIN_URL,
          };
          startProcess(
            dirsOf(place),
            name,
            process.execPath,
            ["--import", "tsx", join(ROOT, "scripts", "bench", "relays", file)],
            {
              env,
              cwd: ROOT,
            },
          );
          await waitFor(name, () => httpStatus(`http://127.0.0.1:${ports[i]}/healthz`, { expect: 200 }), 20_000);
        }),
      );
      return startEdges(place, ports);
    },
    async stop() {
      await stopEdges(place);
      await Promise.all(names.map((name) => stopProcess(dirsOf(place), name)));
    },
    connect,
  };
}

export function systems(place: BenchPlace): Record<SystemKey, System> {
  return {
    duet: duetSystem(place),
    ws: relaySystem(place, "ws", "ws + ioredis relay", "ws-relay.ts", connectWsRelay),
    socketio: relaySystem(place, "socketio", "Socket.IO + Redis adapter", "socketio-relay.ts", connectSocketIo),
  };
}

/** Stops every process the bench started (relays, edges), by their pid files. */
export async function stopBenchProcesses(dir: string): Promise<void> {
  const names = ["edge-a", "edge-b", "ws-relay-1", "ws-relay-2", "socketio-relay-1", "socketio-relay-2"];
  await Promise.all(names.map((name) => stopProcess({ pidsDir: join(dir, "pids"), logsDir: join(dir, "logs") }, name, 2000)));
}
