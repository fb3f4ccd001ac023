import mongoose, { Schema, type InferSchemaType, type HydratedDocument } from "mongoose";

const userSchema = new Schema(
  {
    /** Lower-cased and trimmed; the unique sign-in identifier. */
    email: { type: String, required: true, unique: true },
    emailVerified: { type: Boolean, required: true, default: false },
    displayName: { type: String, required: true },
    /** argon2id PHC string; absent for accounts that only sign in with Google. */
    passwordHash: { type: String },
    /** The linked Google account's stable `sub` claim (never its email, which can change). */
    googleSub: { type: String, unique: true, sparse: true },
    status: { type: String, default: "" },
    /** Bumped whenever the avatar changes, so its URL changes and caches never show an old one. */
    avatarVersion: { type: Number, default: 0 },
    lastSeenAt: { type: Date },
    /**
     * Notifications show the message's text (opt-in): a push then carries it, encrypted for the
     * browser, through the browser vendor's push service, and it shows on the lock screen.
     */
    notificationText: { type: Boolean, default: false },
  },
  { timestamps: true },
);

export type User = InferSchemaType<typeof userSchema> & { _id: mongoose.Types.ObjectId };
export type UserDocument = HydratedDocument<User>;
export const UserModel = mongoose.model("User", userSchema);

/** Emails compare case-insensitively; store and look them up in one form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** What another user may see of someone: never the email or anything private. */
export function publicProfile(user: Pick<User, "_id" | "displayName" | "status" | "avatarVersion" | "lastSeenAt">) {
  return {
    id: String(user._id),
    displayName: user.displayName,
    status: user.status ?? "",
    avatarUrl: `/avatars/${String(user._id)}?v=${user.avatarVersion ?? 0}`,
    lastSeenAt: user.lastSeenAt ?? null,
  };
}
