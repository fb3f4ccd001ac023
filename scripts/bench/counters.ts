/**
 * What a system asks of Redis and the database per message, counted from outside the app:
 *
 * - Redis: MONITOR (as the `default` user) during a short counting step. It shows every command
 *   a client sends, and marks the ones a Lua script runs ("lua"), right after the script call,
 *   so script calls, publishes and other commands sent by the servers are told apart; commands
 *   run inside scripts are counted on their own. A script that publishes (Duet's hub sends an
 *   event to the instances that hold its room in one script call) is a publish: every call of a
 *   script seen publishing counts as one publish round trip, not as a script call. MONITOR slows
 *   Redis, which is why counting has its own step, not the measured ones.
 * - Pub/sub deliveries: Redis does not count them; each PUBLISH, sent or run by a script, reaches
 *   the subscribers of its channel (PUBSUB NUMSUB, read at the end of the step) plus pattern
 *   subscribers (PUBSUB NUMPAT).
 * - Database: FerretDB's own request counters (its Prometheus metrics), when the stack was
 *   started with them.
 */
import { Redis } from "ioredis";

export type Counts = {
  messages: number;
  /** Per message. */
  scriptCalls: number;
  publishes: number;
  otherCommands: number;
  /** Top-level commands other than scripts and publishes, most frequent first: "name ×n per message". */
  otherByName: string[];
  /** The same, per message, by command name. */
  others: Record<string, number>;
  commandsInScripts: number;
  deliveries: number;
  dbCommands?: number;
  dbInserts?: number;
  dbByName?: string[];
};

type MonitorLike = {
  on(event: "monitor", listener: (time: string, args: string[], source: string) => void): void;
  disconnect(): void;
};

/** Starts counting; `stop(messages)` answers the counts per message of what happened meanwhile. */
export async function startCounting(redisAdminUrl: string, metricsUrl: string | undefined) {
  const admin = new Redis(redisAdminUrl, { lazyConnect: true });
  await admin.connect();
  const monitor = (await admin.monitor()) as unknown as MonitorLike;
  const byName = new Map<string, number>();
  const published = new Map<string, number>();
  // Calls per script (its sha, or its body for EVAL), and the scripts seen publishing.
  const scriptCalls = new Map<string, number>();
  const publishingScripts = new Set<string>();
  let lastScript = "";
  let inScripts = 0;
  const countPublish = (channel: string | undefined) => {
    if (channel) published.set(channel, (published.get(channel) ?? 0) + 1);
  };
  monitor.on("monitor", (_time, args, source) => {
    const name = (args[0] ?? "").toLowerCase();
    if (source === "lua") {
      inScripts++;
      if (name === "publish") {
        publishingScripts.add(lastScript);
        countPublish(args[1]);
      }
      return;
    }
    // The bench's own admin connection sends nothing while counting.
    byName.set(name, (byName.get(name) ?? 0) + 1);
    if (name === "evalsha" || name === "eval") {
      lastScript = args[1] ?? "";
      scriptCalls.set(lastScript, (scriptCalls.get(lastScript) ?? 0) + 1);
    }
    if (name === "publish") countPublish(args[1]);
  });
  const dbBefore = metricsUrl ? await ferretdbRequests(metricsUrl) : undefined;

  return {
    async stop(messages: number): Promise<Counts> {
      monitor.disconnect();
      const dbAfter = metricsUrl ? await ferretdbRequests(metricsUrl) : undefined;
      let deliveries = 0;
      const channels = [...published.keys()];
      const patterns = Number(await admin.pubsub("NUMPAT"));
      for (let i = 0; i < channels.length; i += 500) {
        const slice = channels.slice(i, i + 500);
        const answer = (await admin.pubsub("NUMSUB", ...slice)) as Array<string | number>;
        for (let j = 0; j < answer.length; j += 2)
          deliveries += (Number(answer[j + 1]) + patterns) * (published.get(String(answer[j])) ?? 0);
      }
      admin.disconnect();
      const per = (n: number) => Math.round((n / Math.max(1, messages)) * 1000) / 1000;
      const take = (name: string) => byName.get(name) ?? 0;
      const calls = (publishing: boolean) =>
        [...scriptCalls].filter(([script]) => publishingScripts.has(script) === publishing).reduce((sum, [, n]) => sum + n, 0);
      const others = [...byName].filter(([name]) => !["evalsha", "eval", "publish"].includes(name));
      const counts: Counts = {
        messages,
        scriptCalls: per(calls(false)),
        publishes: per(take("publish") + calls(true)),
        otherCommands: per(others.reduce((sum, [, n]) => sum + n, 0)),
        otherByName: others
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([name, n]) => `${name} ×${per(n)}`),
        others: Object.fromEntries(others.map(([name, n]) => [name, per(n)])),
        commandsInScripts: per(inScripts),
        deliveries: per(deliveries),
      };
      if (dbBefore && dbAfter) {
        const delta = [...dbAfter].map(([name, n]) => [name, n - (dbBefore.get(name) ?? 0)] as const).filter(([, n]) => n > 0);
        counts.dbCommands = per(delta.reduce((sum, [, n]) => sum + n, 0));
        counts.dbInserts = per(delta.find(([name]) => name === "insert")?.[1] ?? 0);
        counts.dbByName = delta
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([name, n]) => `${name} ×${per(n)}`);
      }
      return counts;
    },
  };
}

/** FerretDB's requests so far, by command (ferretdb_client_requests_total). */
async function ferretdbRequests(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const out = new Map<string, number>();
  for (const match of text.matchAll(/^ferretdb_client_requests_total\{command="([^"]+)"[^}]*\} (\d+)/gm))
    out.set(match[1] ?? "", (out.get(match[1] ?? "") ?? 0) + Number(match[2]));
  return out;
}
