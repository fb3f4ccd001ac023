/**
 * Six-digit codes sent by email to prove an address (a sign-up, an email change). A code is
 * stored only as an HMAC bound to what it proves, lives 10 minutes, is consumed by its first
 * correct use, dies after 5 wrong tries, and a new one (at most one a minute) replaces the old.
 * Each try is counted before the code is compared, so parallel guesses get no more than 5
 * comparisons out of one code.
 */
import { createHmac, randomInt, timingSafeEqual } from "node:crypto";
import mongoose, { Schema, type Model, type Types } from "mongoose";

export const CODE_TTL_MS = 10 * 60_000;
export const RESEND_COOLDOWN_MS = 60_000;
export const MAX_CODE_ATTEMPTS = 5;

/** What every stored code keeps, whatever it proves; `expiresAt` is the code's own expiry. */
export const codeFields = {
  codeHash: { type: String, required: true },
  attempts: { type: Number, required: true, default: 0 },
  sentAt: { type: Date, required: true },
  expiresAt: { type: Date, required: true },
} as const;
export type StoredCode = { codeHash: string; attempts: number; sentAt: Date; expiresAt: Date };

/** A new code and the fields that store it. `scope` names what the code proves, e.g. `signup:<id>`. */
export function freshCode(key: Buffer, scope: string, now: Date) {
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
  const fields = {
    codeHash: codeHash(key, scope, code),
    attempts: 0,
    sentAt: now,
    expiresAt: new Date(now.getTime() + CODE_TTL_MS),
  };
  return { code, fields };
}

function codeHash(key: Buffer, scope: string, code: string): string {
  return createHmac("sha256", key).update(`${scope}:${code}`).digest("base64url");
}

/** Seconds until a code sent at `sentAt` may be replaced (at least 1). */
export function cooldownLeft(sentAt: Date | undefined, now: Date): number {
  const waitMs = sentAt ? sentAt.getTime() + RESEND_COOLDOWN_MS - now.getTime() : RESEND_COOLDOWN_MS;
  return Math.max(1, Math.ceil(waitMs / 1000));
}

export type CheckResult<T> =
  | { ok: true; doc: T }
  /** The code was compared and was not it; with 0 tries left the code is now dead. */
  | { ok: false; reason: "wrong"; attemptsLeft: number }
  /** Nothing was compared: no live code, or its tries were used up before. */
  | { ok: false; reason: "expired" | "locked" };

/**
 * Spends one try on the code stored in document `id` of `model`, then compares `code`; a
 * correct code deletes the document (so it is single-use) and returns it.
 */
export async function tryCode<T extends StoredCode>(
  model: Model<T>,
  id: Types.ObjectId | string,
  key: Buffer,
  scope: string,
  code: string,
  now = new Date(),
): Promise<CheckResult<T & { _id: Types.ObjectId }>> {
  const live = { attempts: { $lt: MAX_CODE_ATTEMPTS }, expiresAt: { $gt: now } };
  const reserved = await model
    .findOneAndUpdate({ _id: id, ...live }, { $inc: { attempts: 1 } }, { returnDocument: "after" })
    .lean<StoredCode>();
  if (!reserved) {
    const doc = await model.findById(id, { attempts: 1, expiresAt: 1 }).lean<StoredCode>();
    return doc && doc.expiresAt > now ? { ok: false, reason: "locked" } : { ok: false, reason: "expired" };
  }
  const given = Buffer.from(codeHash(key, scope, code));
  const stored = Buffer.from(reserved.codeHash);
  if (given.length === stored.length && timingSafeEqual(given, stored)) {
    // Deleting with the same hash: of two requests racing with the right code, one wins.
    const consumed = await model.findOneAndDelete({ _id: id, codeHash: reserved.codeHash }).lean<T & { _id: Types.ObjectId }>();
    return consumed ? { ok: true, doc: consumed } : { ok: false, reason: "expired" };
  }
  // The last wrong try is still "wrong" (0 left): it was compared, so rate limits count it.
  return { ok: false, reason: "wrong", attemptsLeft: MAX_CODE_ATTEMPTS - reserved.attempts };
}

// --- Email-change codes: one live code per account, sent to the new address. ---

const emailCodeSchema = new Schema({
  userId: { type: Schema.Types.ObjectId, required: true },
  // "signup" codes were stored here by earlier versions; sign-ups now keep theirs (pending-signups.ts).
  purpose: { type: String, required: true, enum: ["signup", "email-change"] },
  /** The address the code was sent to: the new one. */
  email: { type: String, required: true },
  ...codeFields,
});
// One live code per user and purpose: issuing a new one replaces (and so invalidates) the old.
emailCodeSchema.index({ userId: 1, purpose: 1 }, { unique: true });

export const EmailCodeModel = mongoose.model("EmailCode", emailCodeSchema);

const emailChangeScope = (userId: string) => `email-change:${userId}`;

export type IssueResult = { ok: true; code: string } | { ok: false; retryInSeconds: number };

/** Creates a fresh email-change code for `userId`, unless one was sent less than a minute ago. */
export async function issueEmailCode(
  key: Buffer,
  input: { userId: string; email: string },
  now = new Date(),
): Promise<IssueResult> {
  const { code, fields } = freshCode(key, emailChangeScope(input.userId), now);
  const filter = {
    userId: input.userId,
    purpose: "email-change" as const,
    sentAt: { $lte: new Date(now.getTime() - RESEND_COOLDOWN_MS) },
  };
  try {
    // Atomic: if a recent code exists the filter misses, the upsert collides with the unique
    // index, and two racing requests cannot both send.
    await EmailCodeModel.findOneAndUpdate(filter, { $set: { email: input.email, ...fields } }, { upsert: true });
    return { ok: true, code };
  } catch (err) {
    if (!(err instanceof mongoose.mongo.MongoServerError && err.code === 11000)) throw err;
    const existing = await EmailCodeModel.findOne({ userId: input.userId, purpose: "email-change" }).lean();
    return { ok: false, retryInSeconds: cooldownLeft(existing?.sentAt, now) };
  }
}

/** Checks an email-change code; a correct one is consumed and returns the address it was sent to. */
export async function consumeEmailCode(
  key: Buffer,
  input: { userId: string; code: string },
  now = new Date(),
): Promise<CheckResult<{ email: string }>> {
  const stored = await EmailCodeModel.findOne({ userId: input.userId, purpose: "email-change" }, { _id: 1 }).lean();
  if (!stored) return { ok: false, reason: "expired" };
  const result = await tryCode(EmailCodeModel, stored._id, key, emailChangeScope(input.userId), input.code, now);
  return result.ok ? { ok: true, doc: { email: result.doc.email } } : result;
}
