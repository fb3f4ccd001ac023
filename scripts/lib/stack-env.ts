/** Reads the addresses `scripts/stack up` wrote to `<STACK_DIR>/env`, for tests and benchmarks. */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ROOT } from "./settings.js";

export type StackEnv = {
  APP_URL: string;
  HTTP_URL: string;
  MAIL_URL: string;
  SMTP_URL: string;
  MONGODB_URI: string;
  /** The app's own Redis user: only Duet's commands, keys and channels (redis/app-user.acl). */
  REDIS_URL: string;
  /** Redis's `default` user, for tests and tools that inspect Redis as an administrator would. */
  REDIS_ADMIN_URL: string;
  APP_INSTANCES: string;
  SESSION_SECRETS: string;
  MASTER_KEYS: string;
  /** The local OpenID provider standing in for Google, and Duet's client registered there. */
  OIDC_URL: string;
  GOOGLE_CLIENT_ID: string;
  GOOGLE_CLIENT_SECRET: string;
  CA_CERT: string;
  STACK_DIR: string;
  /** Set by stacks started since decision 021: FerretDB's backend and the app's settings for it. */
  STACK_DB?: "postgresql" | "sqlite";
  MESSAGE_WRITES_IN_FLIGHT?: string;
  ROOM_ACTIVITY_PAUSE_MS?: string;
};

const KEYS: Array<keyof StackEnv> = [
  "APP_URL",
  "HTTP_URL",
  "MAIL_URL",
  "SMTP_URL",
  "MONGODB_URI",
  "REDIS_URL",
  "REDIS_ADMIN_URL",
  "APP_INSTANCES",
  "SESSION_SECRETS",
  "MASTER_KEYS",
  "OIDC_URL",
  "GOOGLE_CLIENT_ID",
  "GOOGLE_CLIENT_SECRET",
  "CA_CERT",
  "STACK_DIR",
];

/** What the browser tests use: the Docker test's stack (scripts/docker-test) provides these too. */
const BROWSER_KEYS = ["APP_URL", "HTTP_URL", "MAIL_URL", "CA_CERT", "STACK_DIR"] as const;
export type BrowserEnv = Pick<StackEnv, (typeof BROWSER_KEYS)[number]>;

const defaultDir = () => resolve(ROOT, process.env.STACK_DIR ?? ".stack");

function readEnvFile<K extends keyof StackEnv>(dir: string, keys: readonly K[]): Pick<StackEnv, K> {
  const file = join(dir, "env");
  if (!existsSync(file)) throw new Error(`${file} not found: start the stack first with \`scripts/stack up\``);
  const entries = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.includes("="))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const);
  const env = Object.fromEntries(entries) as Partial<StackEnv>;
  const missing = keys.filter((k) => !env[k]);
  if (missing.length > 0) throw new Error(`${file} lacks ${missing.join(", ")}: run \`scripts/stack up\` again`);
  return env as Pick<StackEnv, K>;
}

export function readStackEnv(dir: string = defaultDir()): StackEnv {
  return readEnvFile(dir, KEYS);
}

/** The addresses the browser tests need, from the native stack or the Docker test's stack. */
export function readBrowserEnv(dir: string = defaultDir()): BrowserEnv {
  return readEnvFile(dir, BROWSER_KEYS);
}
