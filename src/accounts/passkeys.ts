/**
 * Passkeys (WebAuthn, @simplewebauthn/server 13: version 14 needs Node 22). A passkey is a key
 * pair made on the user's device; Duet keeps only its public key, so a copied database signs
 * nobody in. Passkeys are discoverable (the device offers the account, no email typed) and
 * always ask the device to verify its user (fingerprint, face, PIN): one passkey is both factors,
 * which is why a passkey sign-in needs no two-factor code. The relying party (RP ID, origin) is
 * the configured PUBLIC_URL, never a request's Host header, so a page served under another name
 * cannot collect answers that work here.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import mongoose, { Schema } from "mongoose";
import type { Redis } from "ioredis";
import type { SessionData } from "../http/session-store.js";
import { CHALLENGE_WINDOW_MS, rememberChallenge, takeChallenge, type PasskeyPurpose } from "./passkey-challenges.js";
import { UserModel } from "./user.model.js";

const passkeySchema = new Schema({
  /** The credential id (base64url): the id the device answers with, and the document's key. */
  _id: { type: String, required: true },
  userId: { type: Schema.Types.ObjectId, required: true, index: true },
  /** The COSE public key, base64url. */
  publicKey: { type: String, required: true },
  /** The device's signature counter: an answer must carry a larger one (or 0, for devices that keep none). */
  counter: { type: Number, required: true, default: 0 },
  transports: { type: [String], default: [] },
  name: { type: String, required: true },
  /** Whether the passkey is synced between devices (a cloud keychain) or bound to one. */
  synced: { type: Boolean, default: false },
  createdAt: { type: Date, required: true },
  lastUsedAt: { type: Date },
});

export const PasskeyModel = mongoose.model("Passkey", passkeySchema);

export type RelyingParty = { rpID: string; origin: string; name: string };

/** The relying party Duet is, from the configured public URL (an origin). */
export function relyingParty(publicUrl: string): RelyingParty {
  return { rpID: new URL(publicUrl).hostname, origin: new URL(publicUrl).origin, name: "Duet" };
}

export type PasskeyDeps = { redis: Redis; rp: RelyingParty };

export const MAX_PASSKEYS = 20;
export const MAX_NAME_LENGTH = 50;

// eslint-disable-next-line no-control-regex -- control characters never belong in a name
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** A name as typed, tidied; empty when nothing usable was typed. */
export function passkeyName(typed: unknown): string {
  if (typeof typed !== "string") return "";
  return Array.from(typed.replace(CONTROL, " ").trim()).slice(0, MAX_NAME_LENGTH).join("").trim();
}

/** The WebAuthn user handle: the account id's bytes (not the email, which devices may show or sync). */
const userHandle = (userId: string) => new Uint8Array(Buffer.from(userId, "hex"));

export type PasskeyView = { id: string; name: string; createdAt: Date; lastUsedAt?: Date; synced: boolean };

export async function listPasskeys(userId: string): Promise<PasskeyView[]> {
  const docs = await PasskeyModel.find({ userId }, { name: 1, createdAt: 1, lastUsedAt: 1, synced: 1 })
    .sort({ createdAt: 1 })
    .lean();
  return docs.map((d) => ({
    id: d._id,
    name: d.name,
    createdAt: d.createdAt,
    lastUsedAt: d.lastUsedAt ?? undefined,
    synced: Boolean(d.synced),
  }));
}

export async function hasPasskey(userId: string): Promise<boolean> {
  return Boolean(await PasskeyModel.exists({ userId }));
}

/** Renames one of `userId`'s passkeys; false when it is not theirs (or not there). */
export async function renamePasskey(userId: string, id: string, name: string): Promise<boolean> {
  return (await PasskeyModel.updateOne({ _id: id, userId }, { $set: { name } })).matchedCount === 1;
}

/** Removes one of `userId`'s passkeys; false when it is not theirs (or not there). */
export async function removePasskey(userId: string, id: string): Promise<boolean> {
  return (await PasskeyModel.deleteOne({ _id: id, userId })).deletedCount === 1;
}

/** Removes every passkey of a user (their account is being deleted). */
export async function removePasskeysOf(userId: string): Promise<void> {
  await PasskeyModel.deleteMany({ userId });
}

// ---- Adding a passkey ----

/** Options for the browser to make a passkey for `userId`; the challenge is kept in `session`. */
export async function registrationOptions(deps: PasskeyDeps, session: SessionData, userId: string) {
  const user = await UserModel.findById(userId, { email: 1, displayName: 1 }).lean();
  if (!user) throw new Error("registration for a user who does not exist");
  const existing = await PasskeyModel.find({ userId }, { transports: 1 }).lean();
  const options = await generateRegistrationOptions({
    rpName: deps.rp.name,
    rpID: deps.rp.rpID,
    userName: user.email,
    userDisplayName: user.displayName,
    userID: userHandle(userId),
    attestationType: "none",
    timeout: CHALLENGE_WINDOW_MS,
    // A device that already holds one of this account's passkeys says so instead of making another.
    excludeCredentials: existing.map((p) => ({ id: p._id, transports: p.transports as AuthenticatorTransportFuture[] })),
    authenticatorSelection: { residentKey: "required", userVerification: "required" },
  });
  rememberChallenge(session, options.challenge, "register", userId);
  return options;
}

export type PasskeyProblem = "no-challenge" | "invalid" | "unknown" | "not-yours" | "counter" | "exists" | "too-many";

export type RegisterResult = { ok: true; id: string; name: string } | { ok: false; reason: PasskeyProblem };

/** Checks the browser's answer to registrationOptions and stores the new passkey. */
export async function registerPasskey(
  deps: PasskeyDeps,
  session: SessionData,
  userId: string,
  input: { response: unknown; name: string },
): Promise<RegisterResult> {
  const challenge = takeChallenge(deps.redis, session, "register", userId);
  if (!challenge) return { ok: false, reason: "no-challenge" };
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response: input.response as RegistrationResponseJSON,
      expectedChallenge: challenge.matches,
      expectedOrigin: deps.rp.origin,
      expectedRPID: deps.rp.rpID,
      requireUserVerification: true,
    });
  } catch {
    // The library throws for every malformed or mismatched answer; which one does not matter to the user.
    return { ok: false, reason: challenge.usedElsewhere() ? "no-challenge" : "invalid" };
  }
  if (!verified.verified || !verified.registrationInfo) return { ok: false, reason: "invalid" };
  const { credential, credentialBackedUp } = verified.registrationInfo;
  if ((await PasskeyModel.countDocuments({ userId })) >= MAX_PASSKEYS) return { ok: false, reason: "too-many" };
  const now = new Date();
  const name = input.name || `Passkey added ${now.toISOString().slice(0, 10)}`;
  try {
    await PasskeyModel.create({
      _id: credential.id,
      userId,
      publicKey: Buffer.from(credential.publicKey).toString("base64url"),
      counter: credential.counter,
      transports: credential.transports ?? [],
      name,
      synced: credentialBackedUp,
      createdAt: now,
    });
  } catch (err) {
    if (err instanceof mongoose.mongo.MongoServerError && err.code === 11000) return { ok: false, reason: "exists" };
    throw err;
  }
  return { ok: true, id: credential.id, name };
}

// ---- Using a passkey ----

/**
 * Options for the browser to sign with a passkey. Without `userId` (sign-in) the device offers
 * whichever of its passkeys are Duet's; with it (re-authentication, the second step after a
 * password) only that account's passkeys count.
 */
export async function authenticationOptions(deps: PasskeyDeps, session: SessionData, purpose: PasskeyPurpose, userId?: string) {
  const allowed = userId ? await PasskeyModel.find({ userId }, { transports: 1 }).lean() : [];
  const options = await generateAuthenticationOptions({
    rpID: deps.rp.rpID,
    userVerification: "required",
    timeout: CHALLENGE_WINDOW_MS,
    allowCredentials: allowed.map((p) => ({ id: p._id, transports: p.transports as AuthenticatorTransportFuture[] })),
  });
  rememberChallenge(session, options.challenge, purpose, userId);
  return options;
}

export type AuthenticateResult = { ok: true; userId: string } | { ok: false; reason: PasskeyProblem };

const credentialIdOf = (response: unknown): string | undefined => {
  const id = response && typeof response === "object" ? (response as { id?: unknown }).id : undefined;
  return typeof id === "string" && /^[A-Za-z0-9_-]{16,1400}$/.test(id) ? id : undefined;
};

/**
 * Checks a signed answer to authenticationOptions: a challenge of this session for `purpose`,
 * a passkey Duet knows (and `userId`'s, when given), a valid signature with user verification,
 * and a signature counter that moved forward (a cloned device's answers go backwards).
 */
export async function authenticateWithPasskey(
  deps: PasskeyDeps,
  session: SessionData,
  purpose: PasskeyPurpose,
  response: unknown,
  userId?: string,
): Promise<AuthenticateResult> {
  const challenge = takeChallenge(deps.redis, session, purpose, userId);
  if (!challenge) return { ok: false, reason: "no-challenge" };
  const id = credentialIdOf(response);
  if (!id) return { ok: false, reason: "invalid" };
  const passkey = await PasskeyModel.findById(id).lean();
  if (!passkey) return { ok: false, reason: "unknown" };
  const owner = String(passkey.userId);
  if (userId !== undefined && owner !== userId) return { ok: false, reason: "not-yours" };
  // The device names the account it signed for: it must be the passkey's.
  const handle = (response as AuthenticationResponseJSON).response?.userHandle;
  if (handle !== undefined && handle !== null && handle !== Buffer.from(owner, "hex").toString("base64url")) {
    return { ok: false, reason: "invalid" };
  }
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response: response as AuthenticationResponseJSON,
      expectedChallenge: challenge.matches,
      expectedOrigin: deps.rp.origin,
      expectedRPID: deps.rp.rpID,
      credential: {
        id: passkey._id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, "base64url")),
        counter: passkey.counter,
        transports: passkey.transports as AuthenticatorTransportFuture[],
      },
      requireUserVerification: true,
    });
  } catch (err) {
    if (challenge.usedElsewhere()) return { ok: false, reason: "no-challenge" };
    if (err instanceof Error && /counter/i.test(err.message)) return { ok: false, reason: "counter" };
    return { ok: false, reason: "invalid" };
  }
  if (!verified.verified) return { ok: false, reason: "invalid" };
  // Conditional on the counter read: of two answers with the same counter, only one moves it.
  const moved = await PasskeyModel.updateOne(
    { _id: id, counter: passkey.counter },
    { $set: { counter: verified.authenticationInfo.newCounter, lastUsedAt: new Date() } },
  );
  if (moved.matchedCount !== 1) return { ok: false, reason: "counter" };
  return { ok: true, userId: owner };
}

/** What the browser is told for each refusal. */
export const PASSKEY_PROBLEMS: Record<PasskeyProblem, { status: number; message: string }> = {
  "no-challenge": { status: 410, message: "That passkey request expired or was already used. Try again." },
  invalid: { status: 422, message: "That passkey answer isn't valid. Try again." },
  unknown: { status: 422, message: "That passkey isn't registered with Duet (it may have been removed). Sign in another way." },
  "not-yours": { status: 422, message: "That passkey belongs to a different account." },
  counter: {
    status: 422,
    message:
      "That passkey's signature counter went backwards, so it may have been copied. It was refused; remove it and add it again.",
  },
  exists: { status: 409, message: "That passkey is already added." },
  "too-many": { status: 422, message: `You can have up to ${MAX_PASSKEYS} passkeys. Remove one first.` },
};
