/**
 * Browsers each account has signed in from (by the hash of their device cookie,
 * http/device-cookie.ts), for sign-in alerts and for "first seen" in the sessions list.
 */
import mongoose, { Schema } from "mongoose";
import { describeDevice } from "../views.js";
import { sendInBackground, type AccountsDeps } from "./deps.js";
import { UserModel } from "./user.model.js";

// Looked up by `_id` alone (account and device): FerretDB uses an index only for such filters.
const knownDeviceSchema = new Schema({
  _id: { type: String, required: true },
  userId: { type: Schema.Types.ObjectId, required: true },
  /** SHA-256 of the device cookie. */
  device: { type: String, required: true },
  firstSeenAt: { type: Date, required: true },
  lastSeenAt: { type: Date, required: true },
});

const deviceKey = (userId: string, device: string) => `${userId}:${device}`;

export const KnownDeviceModel = mongoose.model("KnownDevice", knownDeviceSchema);

/**
 * Records a sign-in of `userId` from `device`. A browser the account has not used before gets the
 * owner an email (time, browser, a link to the sessions list), unless `quiet`: the sign-in that
 * created the account has nothing to warn about.
 */
export async function recordSignIn(
  deps: AccountsDeps,
  userId: string,
  device: string,
  input: { userAgent: string; quiet?: boolean },
): Promise<void> {
  const now = new Date();
  const before = await KnownDeviceModel.findOneAndUpdate(
    { _id: deviceKey(userId, device) },
    { $set: { lastSeenAt: now }, $setOnInsert: { userId, device, firstSeenAt: now } },
    { upsert: true, returnDocument: "before" },
  ).catch((err: unknown) => {
    // Two sign-ins from one browser at once: the other one inserted it, so it is known.
    if (err instanceof mongoose.mongo.MongoServerError && err.code === 11000) return { known: true };
    throw err;
  });
  if (before || input.quiet) return;
  const user = await UserModel.findById(userId, { email: 1, displayName: 1 }).lean();
  if (!user) return;
  sendInBackground(deps, user.email, "new-sign-in", {
    displayName: user.displayName,
    signedInAt: now,
    browser: describeDevice(input.userAgent),
    sessionsLink: `${deps.publicUrl}/profile#sessions`,
  });
}

/** When each of `devices` was first seen signing into `userId`, by device hash. */
export async function firstSeen(userId: string, devices: string[]): Promise<Map<string, Date>> {
  const docs = await Promise.all(
    [...new Set(devices)].map((device) =>
      KnownDeviceModel.findById(deviceKey(userId, device), { device: 1, firstSeenAt: 1 }).lean(),
    ),
  );
  return new Map(docs.flatMap((d) => (d ? [[d.device, d.firstSeenAt] as const] : [])));
}
