/** Readiness probes: each resolves when the service really answers, never after a fixed sleep. */
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";

/** Retries `probe` every 100 ms until it resolves or `timeoutMs` passes; `alive` aborts early. */
export async function waitFor(what: string, probe: () => Promise<unknown>, timeoutMs: number, alive: () => boolean = () => true) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${what} exited while starting`);
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  throw new Error(
    `${what} was not ready within ${timeoutMs / 1000}s: ${lastError instanceof Error ? lastError.message : lastError}`,
  );
}

export async function pingMongo(uri: string): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
  try {
    await client.db("admin").command({ ping: 1 });
  } finally {
    await client.close();
  }
}

export async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

/** GET `url`; resolves with the status when it is `expect`. https uses `caFile` to verify. */
export function httpStatus(url: string, options: { caFile?: string; expect?: number } = {}): Promise<number> {
  const u = new URL(url);
  const request = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      { method: "GET", timeout: 2000, ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}) },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        if (options.expect !== undefined && status !== options.expect) reject(new Error(`${url} answered ${status}`));
        else resolve(status);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}
