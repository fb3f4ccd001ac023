/**
 * Two-factor sign-in with an authenticator app. The app's secret is stored sealed (see
 * sealed-secrets.ts) under a key for this purpose alone, bound to its account; recovery codes
 * are stored hashed and consumed atomically, so two requests cannot both spend the same one.
 */
import mongoose, { Schema } from "mongoose";
import { openSecret, sealSecret } from "../sealed-secrets.js";
import { sendInBackground, type AccountsDeps } from "./deps.js";
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from "./recovery-codes.js";
import { checkTotp, enrolmentCode, groupedSecret, newTotpSecret } from "./totp.js";
import { UserModel } from "./user.model.js";

const twoFactorSchema = new Schema({
  userId: { type: Schema.Types.ObjectId, required: true, unique: true },
  /** The authenticator secret, sealed for purpose TOTP_PURPOSE and this user. */
  secret: { type: String, required: true },
  enabledAt: { type: Date, required: true },
  /** SHA-256 of each unused recovery code (recovery-codes.ts). */
  recoveryCodes: { type: [String], default: [] },
  recoveryCodesAt: { type: Date, required: true },
});

export const TwoFactorModel = mongoose.model("TwoFactor", twoFactorSchema);

export const TOTP_PURPOSE = "totp-secret";
// A secret being set up is sealed under its own purpose: it cannot pass for an enrolled one.
const SETUP_PURPOSE = "totp-setup";
const ISSUER = "Duet";

export type TwoFactorDeps = AccountsDeps;

export type TwoFactorStatus = { enabledAt: Date; recoveryCodesLeft: number };

/** Whether (and since when) `userId` signs in with a second factor. */
export async function twoFactorStatus(userId: string): Promise<TwoFactorStatus | undefined> {
  const doc = await TwoFactorModel.findOne({ userId }, { enabledAt: 1, recoveryCodes: 1 }).lean();
  return doc ? { enabledAt: doc.enabledAt, recoveryCodesLeft: doc.recoveryCodes.length } : undefined;
}

export async function hasTwoFactor(userId: string): Promise<boolean> {
  return Boolean(await TwoFactorModel.exists({ userId }));
}

/** A new secret for `userId` to scan; the sealed form is what the browser's session keeps until it is confirmed. */
export function startEnrolment(deps: TwoFactorDeps, userId: string): string {
  return sealSecret(deps.masterKeys, SETUP_PURPOSE, userId, newTotpSecret());
}

/** What the set-up page shows for a sealed pending secret: the QR code and the secret to type. */
export async function enrolmentView(deps: TwoFactorDeps, userId: string, sealed: string, email: string) {
  const secret = openSecret(deps.masterKeys, SETUP_PURPOSE, userId, sealed);
  if (!secret) return undefined;
  const { qr } = await enrolmentCode(secret, email, ISSUER);
  return { qr, secret: groupedSecret(secret) };
}

export type EnrolResult = { ok: true; recoveryCodes: string[] } | { ok: false; reason: "wrong" | "used" | "expired" | "already" };

/** Turns two-factor on once `code` proves the app holds the pending secret; returns the recovery codes to show once. */
export async function confirmEnrolment(deps: TwoFactorDeps, userId: string, sealed: string, code: string): Promise<EnrolResult> {
  const secret = openSecret(deps.masterKeys, SETUP_PURPOSE, userId, sealed);
  if (!secret) return { ok: false, reason: "expired" };
  const checked = await checkTotp(deps.redis, userId, secret, code);
  if (!checked.ok) return checked;
  const { codes, hashes } = newRecoveryCodes(userId);
  const now = new Date();
  try {
    await TwoFactorModel.create({
      userId,
      secret: sealSecret(deps.masterKeys, TOTP_PURPOSE, userId, secret),
      enabledAt: now,
      recoveryCodes: hashes,
      recoveryCodesAt: now,
    });
  } catch (err) {
    // Set up meanwhile in another tab: the first one stands.
    if (err instanceof mongoose.mongo.MongoServerError && err.code === 11000) return { ok: false, reason: "already" };
    throw err;
  }
  return { ok: true, recoveryCodes: codes };
}

export type SecondFactorResult =
  | { ok: true; via: "app" }
  | { ok: true; via: "recovery"; recoveryCodesLeft: number }
  | { ok: false; reason: "wrong" | "used" | "off" };

/**
 * Checks a second factor for `userId`: a current app code, or (`recovery`) one of the recovery
 * codes, which is used up; its owner is then told by email how many are left.
 */
export async function checkSecondFactor(
  deps: TwoFactorDeps,
  userId: string,
  input: { code: string } | { recoveryCode: string },
): Promise<SecondFactorResult> {
  const doc = await TwoFactorModel.findOne({ userId }).lean();
  if (!doc) return { ok: false, reason: "off" };
  if ("code" in input) {
    const secret = openSecret(deps.masterKeys, TOTP_PURPOSE, userId, doc.secret);
    // A secret that no longer opens (its master key was removed) cannot match any code.
    if (!secret) {
      deps.log.error({ userId }, "two-factor secret does not open: is its master key still in MASTER_KEYS?");
      return { ok: false, reason: "wrong" };
    }
    const checked = await checkTotp(deps.redis, userId, secret, input.code);
    return checked.ok ? { ok: true, via: "app" } : checked;
  }
  const normalized = normalizeRecoveryCode(input.recoveryCode);
  if (!normalized) return { ok: false, reason: "wrong" };
  const hash = hashRecoveryCode(userId, normalized);
  // One atomic pull: of two requests with the same code, only one finds it there.
  const before = await TwoFactorModel.findOneAndUpdate(
    { userId, recoveryCodes: hash },
    { $pull: { recoveryCodes: hash } },
    { returnDocument: "before" },
  ).lean();
  if (!before) return { ok: false, reason: "wrong" };
  const left = before.recoveryCodes.length - 1;
  const user = await UserModel.findById(userId, { email: 1, displayName: 1 }).lean();
  if (user) {
    sendInBackground(deps, user.email, "recovery-code-used", {
      displayName: user.displayName,
      usedAt: new Date(),
      left,
      profileLink: `${deps.publicUrl}/profile/two-factor`,
    });
  }
  return { ok: true, via: "recovery", recoveryCodesLeft: left };
}

/** Replaces every recovery code with a new set; returns the new codes to show once. */
export async function renewRecoveryCodes(userId: string): Promise<string[] | undefined> {
  const { codes, hashes } = newRecoveryCodes(userId);
  const result = await TwoFactorModel.updateOne({ userId }, { $set: { recoveryCodes: hashes, recoveryCodesAt: new Date() } });
  return result.matchedCount === 1 ? codes : undefined;
}

/** Turns two-factor off (the caller has checked the re-authentication and a current code) and tells the owner. */
export async function turnOffTwoFactor(deps: TwoFactorDeps, userId: string): Promise<void> {
  await TwoFactorModel.deleteOne({ userId });
  const user = await UserModel.findById(userId, { email: 1, displayName: 1 }).lean();
  if (user) {
    sendInBackground(deps, user.email, "two-factor-off", {
      displayName: user.displayName,
      changedAt: new Date(),
      sessionsLink: `${deps.publicUrl}/profile#sessions`,
    });
  }
}
