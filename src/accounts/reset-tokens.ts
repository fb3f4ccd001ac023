/**
 * Password-reset links: 256 random bits, stored as a SHA-256 hash (the token has enough entropy
 * that a keyed hash adds nothing), valid 30 minutes, consumed by their first use.
 */
import { createHash, randomBytes } from "node:crypto";
import mongoose, { Schema } from "mongoose";

export const RESET_TTL_MS = 30 * 60_000;

const resetTokenSchema = new Schema({
  tokenHash: { type: String, required: true, unique: true },
  userId: { type: Schema.Types.ObjectId, required: true, index: true },
  expiresAt: { type: Date, required: true },
  usedAt: { type: Date, default: null },
});

export const ResetTokenModel = mongoose.model("ResetToken", resetTokenSchema);

const hashToken = (token: string) => createHash("sha256").update(token).digest("base64url");
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export async function issueResetToken(userId: string, now = new Date()): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  await ResetTokenModel.create({ tokenHash: hashToken(token), userId, expiresAt: new Date(now.getTime() + RESET_TTL_MS) });
  return token;
}

/** The user a live token belongs to, without using it up (to show the form). */
export async function peekResetToken(token: string, now = new Date()): Promise<string | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const doc = await ResetTokenModel.findOne({ tokenHash: hashToken(token), usedAt: null, expiresAt: { $gt: now } }).lean();
  return doc ? String(doc.userId) : undefined;
}

/** Marks a live token used and returns its user; a second use, or an expired token, gets undefined. */
export async function consumeResetToken(token: string, now = new Date()): Promise<string | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const doc = await ResetTokenModel.findOneAndUpdate(
    { tokenHash: hashToken(token), usedAt: null, expiresAt: { $gt: now } },
    { $set: { usedAt: now } },
  ).lean();
  if (!doc) return undefined;
  // Any other outstanding link for this account dies with this one.
  await voidResetTokens(String(doc.userId), now);
  return String(doc.userId);
}

/** Makes every outstanding link of `userId` unusable (its address or password changed). */
export async function voidResetTokens(userId: string, now = new Date()): Promise<void> {
  await ResetTokenModel.updateMany({ userId, usedAt: null }, { $set: { usedAt: now } });
}
