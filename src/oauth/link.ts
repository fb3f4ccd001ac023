/**
 * Which Duet account a verified Google identity belongs to. Accounts are tied to Google's
 * stable `sub`, never to the email alone: an address can change hands, and a local account
 * with the same address is joined only once its owner has proven the local password (or is
 * already signed in), so a Google account can never silently take over a Duet account.
 */
import mongoose from "mongoose";
import { verifyPassword } from "../accounts/passwords.js";
import { linkGoogle } from "../accounts/google-link.js";
import { normalizeEmail, UserModel } from "../accounts/user.model.js";
import type { IdentityClaims } from "./id-token.js";

export type GoogleOutcome =
  | { kind: "signed-in"; userId: string }
  | { kind: "created"; userId: string }
  | { kind: "linked"; userId: string }
  /** A verified local account has this email: its password must be given before linking. */
  | { kind: "needs-password"; userId: string; email: string }
  | { kind: "conflict"; message: string };

const isDuplicateKey = (err: unknown) => err instanceof mongoose.mongo.MongoServerError && err.code === 11000;

// eslint-disable-next-line no-control-regex -- control characters never belong in a name
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** A display name from the claims, within the profile form's rules; the email's local part otherwise. */
export function displayNameFrom(claims: Pick<IdentityClaims, "name" | "email">): string {
  const name = Array.from(claims.name.replace(CONTROL, "").trim()).slice(0, 50).join("").trim();
  return name || claims.email.split("@")[0]?.slice(0, 50) || "Duet user";
}

/** Removes the link, only for an account that can still sign in with its password. */
export async function unlinkGoogle(userId: string): Promise<boolean> {
  const result = await UserModel.updateOne(
    { _id: userId, passwordHash: { $exists: true }, googleSub: { $exists: true } },
    { $unset: { googleSub: 1 } },
  );
  return result.modifiedCount === 1;
}

/** Whether `password` is `userId`'s: the proof that links a Google account to a local one. */
export async function isAccountPassword(userId: string, password: string): Promise<boolean> {
  const user = await UserModel.findById(userId, { passwordHash: 1 }).lean();
  return verifyPassword(password, user?.passwordHash);
}

/** Linking after the local password was given; false for a wrong password or a link made meanwhile. */
export async function linkWithPassword(userId: string, sub: string, password: string): Promise<"linked" | "wrong" | "conflict"> {
  if (!(await isAccountPassword(userId, password))) return "wrong";
  return (await linkGoogle(userId, sub)) ? "linked" : "conflict";
}

/** Decides what a verified, email-verified Google sign-in means for `signedInUserId` (if any). */
export async function resolveGoogleSignIn(claims: IdentityClaims, signedInUserId?: string): Promise<GoogleOutcome> {
  const owner = await UserModel.findOne({ googleSub: claims.sub }, { _id: 1 }).lean();
  if (signedInUserId) return linkToSignedIn(claims, signedInUserId, owner ? String(owner._id) : undefined);
  if (owner) return { kind: "signed-in", userId: String(owner._id) };

  const email = normalizeEmail(claims.email);
  const existing = await UserModel.findOne({ email }).lean();
  if (existing?.emailVerified) {
    if (existing.googleSub) {
      return { kind: "conflict", message: "The Duet account with this email is linked to a different Google account." };
    }
    return { kind: "needs-password", userId: String(existing._id), email };
  }
  const profile = { email, emailVerified: true, displayName: displayNameFrom(claims), googleSub: claims.sub };
  try {
    if (existing) {
      // Someone signed up with this address but never confirmed it, so whoever chose that
      // password never proved they own it; Google just has. The unproven password is dropped.
      await UserModel.updateOne({ _id: existing._id, emailVerified: false }, { $set: profile, $unset: { passwordHash: 1 } });
      return { kind: "created", userId: String(existing._id) };
    }
    const created = await UserModel.create(profile);
    return { kind: "created", userId: String(created._id) };
  } catch (err) {
    // Two sign-ins racing for the same address or sub: the other one made the account.
    if (isDuplicateKey(err)) return { kind: "conflict", message: "This account was just set up elsewhere. Try again." };
    throw err;
  }
}

async function linkToSignedIn(claims: IdentityClaims, userId: string, ownerId: string | undefined): Promise<GoogleOutcome> {
  if (ownerId === userId) return { kind: "linked", userId };
  if (ownerId) return { kind: "conflict", message: "This Google account is already linked to another Duet account." };
  if (!(await linkGoogle(userId, claims.sub))) {
    return { kind: "conflict", message: "Your Duet account is already linked to a different Google account. Unlink it first." };
  }
  return { kind: "linked", userId };
}
