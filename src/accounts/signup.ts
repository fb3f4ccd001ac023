/**
 * Sign-up with an emailed code. Registering an address that already has an account looks
 * exactly like a new sign-up to whoever submits the form (same page, same work, same timing);
 * only the address's owner learns of it, by email.
 */
import mongoose from "mongoose";
import { sendInBackground, type AccountsDeps } from "./deps.js";
import { consumeEmailCode, issueEmailCode, MAX_CODE_ATTEMPTS, RESEND_COOLDOWN_MS } from "./email-codes.js";
import { hashPassword } from "./passwords.js";
import type { SessionData } from "./session-store.js";
import { normalizeEmail, UserModel } from "./user.model.js";

export type Pending = NonNullable<SessionData["pending"]>;

export async function startSignUp(
  deps: AccountsDeps,
  input: { email: string; displayName: string; password: string },
): Promise<Pending> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const existing = await UserModel.findOne({ email });
  if (existing?.emailVerified) {
    sendInBackground(deps, email, "signup-exists", { displayName: existing.displayName });
    return { email, displayName: input.displayName, sentAt: Date.now() };
  }
  // An unverified account proves nothing about who made it, so a new sign-up for the same
  // address takes it over; only the code sent to the address activates it.
  let userId: string;
  if (existing) {
    existing.displayName = input.displayName;
    existing.passwordHash = passwordHash;
    await existing.save();
    userId = String(existing._id);
  } else {
    try {
      userId = String(
        (await UserModel.create({ email, displayName: input.displayName, passwordHash, emailVerified: false }))._id,
      );
    } catch (err) {
      if (err instanceof mongoose.mongo.MongoServerError && err.code === 11000)
        return { email, displayName: input.displayName, sentAt: Date.now() };
      throw err;
    }
  }
  await sendSignUpCode(deps, { userId, email, displayName: input.displayName });
  return { userId, email, displayName: input.displayName, sentAt: Date.now() };
}

/** Emails a fresh sign-up code unless one went out in the last minute. */
export async function sendSignUpCode(deps: AccountsDeps, pending: { userId: string; email: string; displayName: string }) {
  const issued = await issueEmailCode(deps.codeKey, { userId: pending.userId, purpose: "signup", email: pending.email });
  if (issued.ok) sendInBackground(deps, pending.email, "signup-code", { displayName: pending.displayName, code: issued.code });
  return issued;
}

export type ResendResult = { ok: true } | { ok: false; retryInSeconds: number };

export async function resendSignUpCode(deps: AccountsDeps, pending: Pending, now = Date.now()): Promise<ResendResult> {
  if (!pending.userId) {
    // No code exists for this address; keep the same cooldown so the page behaves the same.
    const wait = (pending.sentAt ?? 0) + RESEND_COOLDOWN_MS - now;
    return wait > 0 ? { ok: false, retryInSeconds: Math.ceil(wait / 1000) } : { ok: true };
  }
  const issued = await sendSignUpCode(deps, { userId: pending.userId, email: pending.email, displayName: pending.displayName });
  return issued.ok ? { ok: true } : issued;
}

export type VerifyResult =
  | { ok: true; userId: string }
  | { ok: false; reason: "wrong"; attemptsLeft: number }
  | { ok: false; reason: "expired" | "locked" };

/** Checks the code; on success the account's email is verified. `pending` is updated in place. */
export async function verifySignUp(deps: AccountsDeps, pending: Pending, code: string): Promise<VerifyResult> {
  if (!pending.userId) {
    pending.wrongTries = (pending.wrongTries ?? 0) + 1;
    const attemptsLeft = MAX_CODE_ATTEMPTS - pending.wrongTries;
    return attemptsLeft > 0 ? { ok: false, reason: "wrong", attemptsLeft } : { ok: false, reason: "locked" };
  }
  const result = await consumeEmailCode(deps.codeKey, { userId: pending.userId, purpose: "signup", code });
  if (!result.ok) return result;
  await UserModel.updateOne({ _id: pending.userId, email: result.email }, { $set: { emailVerified: true } });
  return { ok: true, userId: pending.userId };
}
