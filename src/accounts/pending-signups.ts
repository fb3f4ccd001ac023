/**
 * Sign-ups waiting for their emailed code. Each submission of the sign-up form is its own
 * attempt, with its own name, password hash and code; nothing here is an account. Only the
 * code sent for an attempt completes that attempt, so a second sign-up for the same address
 * cannot change the first one (or its password) before or after the first is confirmed.
 */
import mongoose, { Schema, type InferSchemaType } from "mongoose";
import { isObjectIdHex } from "../ids.js";
import { codeFields, cooldownLeft, freshCode, RESEND_COOLDOWN_MS, tryCode, type CheckResult } from "./email-codes.js";

/** How long an attempt is kept after its last code expired, so "send a new code" still works. */
export const ATTEMPT_KEPT_MS = 24 * 3600_000;

const pendingSignUpSchema = new Schema({
  /** Normalized, as in users. Not unique: several attempts for one address may be pending. */
  email: { type: String, required: true, index: true },
  displayName: { type: String, required: true },
  /** argon2id PHC string of the password chosen in this attempt. */
  passwordHash: { type: String, required: true },
  ...codeFields,
});
// FerretDB has no TTL indexes, so expired attempts are deleted by pruneAttempts; this finds them.
pendingSignUpSchema.index({ expiresAt: 1 });

export type PendingSignUpDoc = InferSchemaType<typeof pendingSignUpSchema> & { _id: mongoose.Types.ObjectId };
export const PendingSignUpModel = mongoose.model("PendingSignUp", pendingSignUpSchema);

const scope = (attemptId: string) => `signup:${attemptId}`;

/** Stores a new attempt with a fresh code; returns its id and the code to email. */
export async function createAttempt(
  key: Buffer,
  input: { email: string; displayName: string; passwordHash: string },
  now = new Date(),
): Promise<{ attemptId: string; code: string }> {
  const _id = new mongoose.Types.ObjectId();
  const { code, fields } = freshCode(key, scope(String(_id)), now);
  await PendingSignUpModel.create({ _id, ...input, ...fields });
  return { attemptId: String(_id), code };
}

export type ReissueResult =
  | { ok: true; code: string; email: string; displayName: string }
  | { ok: false; reason: "cooldown"; retryInSeconds: number }
  | { ok: false; reason: "gone" };

/** Replaces the attempt's code with a fresh one, unless one went out in the last minute. */
export async function reissueAttemptCode(key: Buffer, attemptId: string, now = new Date()): Promise<ReissueResult> {
  if (!isObjectIdHex(attemptId)) return { ok: false, reason: "gone" };
  const { code, fields } = freshCode(key, scope(attemptId), now);
  // Atomic: two racing resends cannot both replace the code. (No projection: FerretDB's
  // findAndModify does not implement one.)
  const kept = { _id: attemptId, expiresAt: { $gt: new Date(now.getTime() - ATTEMPT_KEPT_MS) } };
  const updated = await PendingSignUpModel.findOneAndUpdate(
    { ...kept, sentAt: { $lte: new Date(now.getTime() - RESEND_COOLDOWN_MS) } },
    { $set: fields },
  ).lean();
  if (updated) return { ok: true, code, email: updated.email, displayName: updated.displayName };
  const existing = await PendingSignUpModel.findOne(kept, { sentAt: 1 }).lean();
  return existing
    ? { ok: false, reason: "cooldown", retryInSeconds: cooldownLeft(existing.sentAt, now) }
    : { ok: false, reason: "gone" };
}

/** Checks a code for one attempt; a correct one consumes the attempt and returns it. */
export async function consumeAttempt(
  key: Buffer,
  attemptId: string,
  code: string,
  now = new Date(),
): Promise<CheckResult<PendingSignUpDoc>> {
  if (!isObjectIdHex(attemptId)) return { ok: false, reason: "expired" };
  return tryCode(PendingSignUpModel, attemptId, key, scope(attemptId), code, now);
}

/** The most recent attempt for `email` still kept, if any. */
export async function latestAttempt(email: string, now = new Date()): Promise<PendingSignUpDoc | null> {
  return PendingSignUpModel.findOne({ email, expiresAt: { $gt: new Date(now.getTime() - ATTEMPT_KEPT_MS) } })
    .sort({ _id: -1 })
    .lean<PendingSignUpDoc>();
}

/** Deletes every attempt whose last code expired more than a day ago (whatever its address). */
export async function pruneAttempts(now = new Date()): Promise<void> {
  await PendingSignUpModel.deleteMany({ expiresAt: { $lte: new Date(now.getTime() - ATTEMPT_KEPT_MS) } });
}
