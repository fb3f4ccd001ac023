/**
 * Six-digit codes sent by email to prove an address (sign-up, email change). A code is stored
 * only as an HMAC, lives 10 minutes, is consumed by its first correct use, dies after 5 wrong
 * tries, and a new one (at most one a minute) replaces the old.
 */
import { createHmac, randomInt, timingSafeEqual } from "node:crypto";
import mongoose, { Schema } from "mongoose";

export const CODE_TTL_MS = 10 * 60_000;
export const RESEND_COOLDOWN_MS = 60_000;
export const MAX_CODE_ATTEMPTS = 5;

export type CodePurpose = "signup" | "email-change";

const emailCodeSchema = new Schema({
  userId: { type: Schema.Types.ObjectId, required: true },
  purpose: { type: String, required: true, enum: ["signup", "email-change"] },
  /** The address the code was sent to (the new one, for an email change). */
  email: { type: String, required: true },
  codeHash: { type: String, required: true },
  attempts: { type: Number, required: true, default: 0 },
  sentAt: { type: Date, required: true },
  expiresAt: { type: Date, required: true },
});
// One live code per user and purpose: issuing a new one replaces (and so invalidates) the old.
emailCodeSchema.index({ userId: 1, purpose: 1 }, { unique: true });

export const EmailCodeModel = mongoose.model("EmailCode", emailCodeSchema);

function codeHash(key: Buffer, userId: string, purpose: CodePurpose, code: string): string {
  return createHmac("sha256", key).update(`${purpose}:${userId}:${code}`).digest("base64url");
}

export type IssueResult = { ok: true; code: string } | { ok: false; retryInSeconds: number };

/** Creates a fresh code for `userId`, unless one was sent less than a minute ago. */
export async function issueEmailCode(
  key: Buffer,
  input: { userId: string; purpose: CodePurpose; email: string },
  now = new Date(),
): Promise<IssueResult> {
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
  const filter = { userId: input.userId, purpose: input.purpose, sentAt: { $lte: new Date(now.getTime() - RESEND_COOLDOWN_MS) } };
  try {
    // Atomic: if a recent code exists the filter misses, the upsert collides with the unique
    // index, and two racing resends cannot both send.
    await EmailCodeModel.findOneAndUpdate(
      filter,
      {
        $set: {
          email: input.email,
          codeHash: codeHash(key, input.userId, input.purpose, code),
          attempts: 0,
          sentAt: now,
          expiresAt: new Date(now.getTime() + CODE_TTL_MS),
        },
      },
      { upsert: true },
    );
    return { ok: true, code };
  } catch (err) {
    if (!(err instanceof mongoose.mongo.MongoServerError && err.code === 11000)) throw err;
    const existing = await EmailCodeModel.findOne({ userId: input.userId, purpose: input.purpose }).lean();
    const waitMs = existing ? existing.sentAt.getTime() + RESEND_COOLDOWN_MS - now.getTime() : RESEND_COOLDOWN_MS;
    return { ok: false, retryInSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}

export type CheckResult =
  | { ok: true; email: string }
  | { ok: false; reason: "wrong"; attemptsLeft: number }
  | { ok: false; reason: "expired" | "locked" };

/** Checks `code`; a correct one is consumed and returns the address it was sent to. */
export async function consumeEmailCode(
  key: Buffer,
  input: { userId: string; purpose: CodePurpose; code: string },
  now = new Date(),
): Promise<CheckResult> {
  const doc = await EmailCodeModel.findOne({ userId: input.userId, purpose: input.purpose }).lean();
  if (!doc || doc.expiresAt <= now) return { ok: false, reason: "expired" };
  if (doc.attempts >= MAX_CODE_ATTEMPTS) return { ok: false, reason: "locked" };

  const given = Buffer.from(codeHash(key, input.userId, input.purpose, input.code));
  const stored = Buffer.from(doc.codeHash);
  if (given.length === stored.length && timingSafeEqual(given, stored)) {
    // Deleting with the same hash and a live attempt count makes the code single-use even
    // when two requests race with it.
    const consumed = await EmailCodeModel.findOneAndDelete({
      _id: doc._id,
      codeHash: doc.codeHash,
      attempts: { $lt: MAX_CODE_ATTEMPTS },
    });
    return consumed ? { ok: true, email: doc.email } : { ok: false, reason: "expired" };
  }
  const updated = await EmailCodeModel.findOneAndUpdate(
    { _id: doc._id, attempts: { $lt: MAX_CODE_ATTEMPTS } },
    { $inc: { attempts: 1 } },
    { returnDocument: "after" },
  ).lean();
  const attemptsLeft = updated ? MAX_CODE_ATTEMPTS - updated.attempts : 0;
  return attemptsLeft > 0 ? { ok: false, reason: "wrong", attemptsLeft } : { ok: false, reason: "locked" };
}
