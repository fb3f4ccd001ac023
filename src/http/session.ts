import { randomBytes } from "node:crypto";
import type Koa from "koa";
import Keygrip from "keygrip";
import session from "koa-session";
import type { Redis } from "ioredis";
import type { Config } from "../config.js";
import {
  ABSOLUTE_LIFETIME_MS,
  IDLE_TIMEOUT_MS,
  redisSessionStore,
  sessionDeadline,
  sessionHandle,
  type SessionData,
} from "./session-store.js";

export { ABSOLUTE_LIFETIME_MS, IDLE_TIMEOUT_MS };

export const sessionCookieName = (config: Pick<Config, "publicUrl">) =>
  config.publicUrl.startsWith("https:") ? "__Host-duet.sid" : "duet.sid";

/**
 * koa-session with its data in Redis: the cookie holds only a 256-bit random id, signed with
 * the rotating SESSION_SECRETS. `__Host-` pins the cookie to this exact origin over https.
 */
export function sessions(app: Koa, config: Config, redis: Redis): Koa.Middleware {
  const secure = config.publicUrl.startsWith("https:");
  const store = session(
    {
      key: sessionCookieName(config),
      maxAge: IDLE_TIMEOUT_MS,
      // Re-save (and push the idle deadline out) once half of it has passed.
      renew: true,
      rolling: false,
      httpOnly: true,
      secure,
      sameSite: "lax",
      signed: true,
      store: redisSessionStore(redis, ABSOLUTE_LIFETIME_MS),
      genid: () => randomBytes(32).toString("base64url"),
      valid: (_ctx: Koa.Context, data: SessionData) =>
        data.createdAt === undefined || Date.now() - data.createdAt < ABSOLUTE_LIFETIME_MS,
    },
    app,
  );
  return async (ctx, next) => {
    // Users reach an https PUBLIC_URL only through TLS (nginx), whatever the last hop to the app
    // looked like; browsers send Secure cookies only over https anyway. Without this, a proxy
    // missing from TRUSTED_PROXIES would make every page that sets a cookie fail.
    if (secure) ctx.cookies.secure = true;
    await store(ctx, next);
  };
}

/** ctx.session as koa-session provides it, with Duet's data. */
export type KoaSession = SessionData & {
  /** Moves the data to a fresh session id (and drops the old one): call it when privilege changes. */
  regenerate(): Promise<void>;
  readonly isNew: boolean;
  readonly externalKey?: string;
};

declare module "koa" {
  interface BaseContext {
    session: KoaSession | null;
  }
}

/** HMAC-SHA256 signer for cookies (Keygrip's default is SHA-1); the first secret signs, all verify. */
export function signingKeys(config: Pick<Config, "sessionSecrets">): Keygrip {
  return new Keygrip([...config.sessionSecrets], "sha256");
}

/**
 * The session a raw Cookie header names, for WebSocket upgrades, which never pass through Koa:
 * the same signature check, store and lifetimes as the session middleware.
 */
export async function sessionFromCookieHeader(
  config: Config,
  redis: Redis,
  header: string | undefined,
): Promise<(SessionData & { uid: string; handle: string; deadline: number }) | undefined> {
  if (!header) return undefined;
  const cookies = new Map(
    header.split(";").map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const name = sessionCookieName(config);
  const id = cookies.get(name);
  const signature = cookies.get(`${name}.sig`);
  if (!id || !signature || signingKeys(config).index(`${name}=${id}`, signature) < 0) return undefined;
  const data = await redisSessionStore(redis, ABSOLUTE_LIFETIME_MS).get(id);
  const deadline = sessionDeadline(data);
  if (!data?.uid || deadline === undefined) return undefined;
  return { ...data, uid: data.uid, handle: sessionHandle(id), deadline };
}
