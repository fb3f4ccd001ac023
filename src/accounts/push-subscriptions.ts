/**
 * Web Push subscriptions: one per browser per account, keyed by the browser's device cookie
 * (http/device-cookie.ts), so turning notifications on again replaces the old one and the
 * sessions list can show which browser has them. The endpoint URL and the browser's keys are
 * capabilities (with them and Duet's VAPID key anyone can notify that browser), so they are
 * sealed at rest like the other small secrets (sealed-secrets.ts).
 *
 * An endpoint must be https on one of the configured push services' hosts: Duet POSTs to it,
 * and an address of the user's choosing would make the server a request relay (SSRF).
 */
import { createECDH } from "node:crypto";
import mongoose, { Schema } from "mongoose";
import { z } from "zod";
import type { MasterKey } from "../master-keys.js";
import { openSecret, sealSecret } from "../sealed-secrets.js";

const PURPOSE = "push-subscription";
/** Browsers' endpoints are a few hundred characters; this leaves room and bounds what is stored. */
export const MAX_ENDPOINT_LENGTH = 1024;

const subscriptionSchema = new Schema({
  /** `<user id>:<device hash>`: one per browser per account, found by `_id` (FerretDB). */
  _id: { type: String, required: true },
  userId: { type: Schema.Types.ObjectId, required: true, index: true },
  device: { type: String, required: true },
  /** {endpoint, keys} sealed for this user. */
  sealed: { type: String, required: true },
  createdAt: { type: Date, required: true },
});

export const PushSubscriptionModel = mongoose.model("PushSubscription", subscriptionSchema);

export type BrowserSubscription = { endpoint: string; keys: { p256dh: string; auth: string } };
export type StoredSubscription = BrowserSubscription & { device: string };

const base64url = z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/);
const input = z.object({
  endpoint: z.string().min(1).max(MAX_ENDPOINT_LENGTH),
  keys: z.object({ p256dh: base64url.max(100), auth: base64url.max(40) }),
  expirationTime: z.number().nullable().optional(),
});

/**
 * The subscription a browser sent (PushSubscription.toJSON()), checked: https, on an allowed push
 * service host, no credentials in the URL, a real P-256 point and a 16-byte auth secret.
 */
export function parseSubscription(
  body: unknown,
  serviceHosts: readonly string[],
): { ok: true; value: BrowserSubscription } | { ok: false; message: string } {
  const parsed = input.safeParse(body);
  if (!parsed.success)
    return {
      ok: false,
      message: `A subscription is {endpoint, keys: {p256dh, auth}} with an endpoint of at most ${MAX_ENDPOINT_LENGTH} characters.`,
    };
  const { endpoint, keys } = parsed.data;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, message: "The subscription's endpoint is not a URL." };
  }
  if (url.protocol !== "https:" || url.username || url.password || url.hash)
    return { ok: false, message: "The subscription's endpoint must be a plain https URL." };
  if (!hostAllowed(url.hostname, serviceHosts))
    return { ok: false, message: "The subscription's endpoint is not on a known push service." };
  const p256dh = Buffer.from(keys.p256dh, "base64url");
  if (p256dh.length !== 65 || !validPoint(p256dh))
    return { ok: false, message: "The subscription's p256dh key is not a P-256 public key." };
  if (Buffer.from(keys.auth, "base64url").length !== 16)
    return { ok: false, message: "The subscription's auth secret must be 16 bytes." };
  return { ok: true, value: { endpoint: url.toString(), keys: { p256dh: keys.p256dh, auth: keys.auth } } };
}

function hostAllowed(hostname: string, hosts: readonly string[]): boolean {
  const host = hostname.toLowerCase();
  return hosts.some((allowed) => (allowed.startsWith("*.") ? host.endsWith(allowed.slice(1)) : host === allowed));
}

function validPoint(key: Buffer): boolean {
  try {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    ecdh.computeSecret(key);
    return true;
  } catch {
    return false;
  }
}

const idOf = (userId: string, device: string) => `${userId}:${device}`;

/** Stores `subscription` as this browser's, replacing the one it had. */
export async function saveSubscription(
  keys: readonly MasterKey[],
  userId: string,
  device: string,
  subscription: BrowserSubscription,
): Promise<void> {
  const sealed = sealSecret(keys, PURPOSE, userId, JSON.stringify(subscription));
  await PushSubscriptionModel.updateOne(
    { _id: idOf(userId, device) },
    { $set: { userId, device, sealed, createdAt: new Date() } },
    { upsert: true },
  );
}

/** Turns notifications off for one browser of `userId`; answers whether it had them. */
export async function removeSubscription(userId: string, device: string): Promise<boolean> {
  const { deletedCount } = await PushSubscriptionModel.deleteOne({ _id: idOf(userId, device) });
  return deletedCount > 0;
}

/** The account is being deleted. */
export async function removeSubscriptionsOf(userId: string): Promise<void> {
  await PushSubscriptionModel.deleteMany({ userId });
}

/** The device hashes of `userId`'s browsers that have notifications on. */
export async function subscribedDevices(userId: string): Promise<Set<string>> {
  const docs = await PushSubscriptionModel.find({ userId }, { device: 1 }).lean();
  return new Set(docs.map((d) => d.device));
}

/** `userId`'s subscriptions, opened; one that no longer opens (a retired master key) is skipped. */
export async function subscriptionsOf(keys: readonly MasterKey[], userId: string): Promise<StoredSubscription[]> {
  const docs = await PushSubscriptionModel.find({ userId }).lean();
  return docs.flatMap((doc) => {
    const opened = openSecret(keys, PURPOSE, userId, doc.sealed);
    return opened ? [{ ...(JSON.parse(opened) as BrowserSubscription), device: doc.device }] : [];
  });
}
