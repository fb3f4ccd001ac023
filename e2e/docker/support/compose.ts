/**
 * The Docker test's compose project (scripts/docker-test): docker-compose.yml in a fresh copy
 * of the working tree, with the stand-in images, under the project name duet-test. Commands
 * run there as a user would type them; the environment gives the files and the project.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { hostNetworkSettled } from "./network.js";

const run = promisify(execFile);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the Docker test with scripts/docker-test`);
  return value;
}

/** The fresh copy of the working tree the stack runs from. */
export const CHECKOUT = required("DUET_DOCKER_CHECKOUT");
export const PROJECT = required("COMPOSE_PROJECT_NAME");

/** docker-compose.yml as a user runs it, with only the image names (and published addresses) swapped. */
export const LOCAL = ["docker-compose.yml", "docker/compose.stand-ins.yml"];
/** The production override on top, with pebble as the ACME server (docker/compose.prod-test.yml). */
export const PRODUCTION = [...LOCAL, "docker-compose.prod.yml", "docker/compose.prod-test.yml"];

export type Env = Record<string, string>;

/**
 * Runs a command in the checkout with the given compose files; resolves with its output once
 * the host's network has settled from any container it started, so a browser's next request
 * is not failed by the new interfaces (./network.ts).
 */
export async function inCheckout(files: string[], command: string, args: string[], env: Env = {}): Promise<string> {
  const { stdout, stderr } = await run(command, args, {
    cwd: CHECKOUT,
    env: { ...process.env, COMPOSE_FILE: files.join(":"), ...env },
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { message: string; stdout?: string; stderr?: string }) => {
    throw new Error(`${command} ${args.join(" ")} failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  });
  await hostNetworkSettled();
  return stdout + stderr;
}

/** `docker compose ARGS` with the given files. */
export function compose(files: string[], args: string[], env: Env = {}): Promise<string> {
  return inCheckout(files, "docker", ["compose", ...args], env);
}

export type Container = { Name: string; Service: string; State: string; Health: string; ExitCode: number };

/** Every container of the project (stopped ones too), as `docker compose ps -a` sees them. */
export async function containers(files: string[], env: Env = {}): Promise<Container[]> {
  const out = await compose(files, ["ps", "-a", "--format", "json"], env);
  return out
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Container);
}

/** The app replicas' container names, in order (duet-test-app-1, duet-test-app-2). */
export async function appReplicas(files: string[] = LOCAL, env: Env = {}): Promise<string[]> {
  return (await containers(files, env))
    .filter((c) => c.Service === "app")
    .map((c) => c.Name)
    .sort();
}

/** A container's address on the project's network. */
export async function addressOf(container: string): Promise<string> {
  const { stdout } = await run("docker", [
    "inspect",
    "-f",
    "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
    container,
  ]);
  return stdout.trim();
}

/** A container's log (stdout and stderr), without compose's prefixes. */
export async function logOf(container: string): Promise<string> {
  const { stdout, stderr } = await run("docker", ["logs", container], { maxBuffer: 64 * 1024 * 1024 });
  return stdout + stderr;
}

/** nginx's access log lines (JSON, nginx/templates/nginx.conf.template) for the given request ids. */
export async function nginxAccess(files: string[], requestIds: string[]): Promise<Array<{ reqId: string; upstream: string }>> {
  const out = await compose(files, ["logs", "--no-log-prefix", "--no-color", "nginx"]);
  return out
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { reqId: string; upstream: string })
    .filter((entry) => requestIds.includes(entry.reqId));
}

/** A setting from the checkout's .env (written by scripts/gen-env). */
export function setting(name: string): string {
  const line = readFileSync(join(CHECKOUT, ".env"), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`${name} is not in .env`);
  return line.slice(name.length + 1);
}

/** Sets (or replaces) a setting in the checkout's .env, as a user editing the file would. */
export function changeSetting(name: string, value: string): void {
  const file = join(CHECKOUT, ".env");
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => !l.startsWith(`${name}=`) && l !== "");
  writeFileSync(file, [...lines, `${name}=${value}`, ""].join("\n"));
}
