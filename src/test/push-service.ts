/**
 * A stand-in for a browser vendor's push service (RFC 8030), for tests: a local https endpoint
 * (the stack's certificate) that records each push request, checks its VAPID JWT (RFC 8292:
 * ES256 under the key in `k`, audience this origin) and decrypts its body (RFC 8291, aes128gcm)
 * with the subscriber keys the test generated, as the browser would. A subscriber can be told
 * to answer 410 Gone, as a service does for an expired subscription.
 */
import { createDecipheriv, createECDH, hkdfSync, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { ROOT } from "../../scripts/lib/settings.js";

export type ReceivedPush = {
  at: number;
  status: number;
  /** The decrypted payload, parsed. */
  payload: unknown;
  /** The VAPID public key the request was signed with (base64url), once its JWT verified. */
  vapidKey: string;
  audience: string;
  subject: string;
  headers: Record<string, string | string[] | undefined>;
};

export type Subscriber = {
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
  received: ReceivedPush[];
  /** Answer this status from now on (201 by default; 410 for "expired"). */
  answer(status: number): void;
  /** Resolves when `count` pushes have been received. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedPush[]>;
};

export type PushService = { origin: string; subscriber(): Subscriber; close(): Promise<void> };

type Entry = { ecdh: ReturnType<typeof createECDH>; auth: Buffer; sub: Subscriber; status: number; wake: Array<() => void> };

export async function startPushService(): Promise<PushService> {
  const certs = join(ROOT, "certs");
  const tls = { cert: readFileSync(join(certs, "fullchain.pem")), key: readFileSync(join(certs, "server.key")) };
  const entries = new Map<string, Entry>();
  let origin = "";

  const handle = async (path: string, headers: Record<string, string | string[] | undefined>, body: Buffer) => {
    const entry = entries.get(path.replace(/^\/push\//, ""));
    if (!entry) return 404;
    const auth = String(headers.authorization ?? "");
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(auth);
    if (!match?.[1] || !match[2]) throw new Error(`no VAPID authorization: ${auth}`);
    const [token, k] = [match[1], match[2]];
    if (decodeProtectedHeader(token).alg !== "ES256") throw new Error("VAPID JWT is not ES256");
    const raw = Buffer.from(k, "base64url");
    const key = await importJWK(
      { kty: "EC", crv: "P-256", x: raw.subarray(1, 33).toString("base64url"), y: raw.subarray(33, 65).toString("base64url") },
      "ES256",
    );
    const { payload: claims } = await jwtVerify(token, key, { audience: origin });
    entry.sub.received.push({
      at: Date.now(),
      status: entry.status,
      payload: JSON.parse(decrypt(entry, body).toString("utf8")),
      vapidKey: k,
      audience: String(claims.aud),
      subject: String(claims.sub),
      headers,
    });
    for (const wake of entry.wake.splice(0)) wake();
    return entry.status;
  };

  const servers: Server[] = [];
  let port = 0;
  // Both loopback addresses, since Node may resolve `localhost` to either.
  for (const host of ["127.0.0.1", "::1"]) {
    const server = createServer(tls, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        handle(req.url ?? "", req.headers, Buffer.concat(chunks)).then(
          (status) => res.writeHead(status).end(),
          (err: unknown) => res.writeHead(400).end(String(err)),
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    }).catch((err: NodeJS.ErrnoException) => {
      if (host !== "::1" || err.code !== "EADDRNOTAVAIL") throw err;
    });
    if (server.listening) servers.push(server);
    port ||= (server.address() as AddressInfo).port;
  }
  origin = `https://localhost:${port}`;

  return {
    origin,
    subscriber() {
      const id = randomUUID();
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      const auth = randomBytes(16);
      const entry: Entry = { ecdh, auth, status: 201, wake: [], sub: undefined as unknown as Subscriber };
      const received: ReceivedPush[] = [];
      entry.sub = {
        subscription: {
          endpoint: `${origin}/push/${id}`,
          keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: auth.toString("base64url") },
        },
        received,
        answer: (status) => void (entry.status = status),
        waitFor(count, timeoutMs = 20_000) {
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`${received.length} of ${count} pushes within ${timeoutMs} ms`)),
              timeoutMs,
            );
            const look = () => {
              if (received.length >= count) {
                clearTimeout(timer);
                resolve(received);
              } else entry.wake.push(look);
            };
            look();
          });
        },
      };
      entries.set(id, entry);
      return entry.sub;
    },
    async close() {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

/** RFC 8291 / RFC 8188: one aes128gcm record, as the browser decrypts it. */
function decrypt(entry: Entry, body: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const idLength = body.readUInt8(20);
  const serverKey = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  const secret = entry.ecdh.computeSecret(serverKey);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), entry.ecdh.getPublicKey(), serverKey]);
  const ikm = Buffer.from(hkdfSync("sha256", secret, entry.auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02 and optional zero padding.
  let end = padded.length - 1;
  while (end > 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("no last-record delimiter");
  return padded.subarray(0, end);
}
