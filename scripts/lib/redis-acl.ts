/**
 * The app's Redis user as redis/app-user.acl defines it, for the native stack's redis.conf, and
 * a watch on what Redis refuses, for tests that run the app's flows.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { ROOT } from "./settings.js";

/** The user name in REDIS_URL; docker-compose.yml and redis/start.sh use the same. */
export const REDIS_APP_USER = "duet";

/** redis/app-user.acl's rules on one line, as a `user` directive takes them. */
export function appUserRules(): string {
  return readFileSync(join(ROOT, "redis", "app-user.acl"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean)
    .join(" ");
}

type LogEntry = { key: string; count: number; text: string };

function logEntries(raw: unknown): LogEntry[] {
  return (raw as unknown[][]).map((fields) => {
    const entry: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) entry[String(fields[i])] = String(fields[i + 1]);
    const text = `${entry.username ?? "?"} refused ${entry.reason ?? "?"} ${entry.object ?? "?"} (${entry.context ?? "?"})`;
    return { key: text, count: Number(entry.count ?? 1), text };
  });
}

/**
 * Starts watching Redis's ACL LOG (with the admin URL); the function it answers lists what
 * Redis refused since, e.g. a command the app sends that redis/app-user.acl does not allow.
 */
export async function watchRefusals(adminUrl: string): Promise<() => Promise<string[]>> {
  const admin = new Redis(adminUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // The watch outlives tests that stop Redis: its reconnect errors are expected meanwhile (ioredis
  // prints them as unhandled without a listener), and a Redis still down fails the ACL LOG call.
  admin.on("error", () => {});
  await admin.connect();
  const before = new Map(logEntries(await admin.call("ACL", "LOG", "128")).map((e) => [e.key, e.count]));
  return async () => {
    try {
      const now = logEntries(await admin.call("ACL", "LOG", "128"));
      return now.filter((e) => e.count > (before.get(e.key) ?? 0)).map((e) => e.text);
    } finally {
      admin.disconnect();
    }
  };
}
