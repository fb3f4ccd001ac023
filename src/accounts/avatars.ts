/**
 * Avatars: an uploaded image is decoded, checked and re-encoded (256×256 WebP, metadata such as
 * GPS position dropped), so what is stored and served is always an image we produced. Without
 * one, a generated initials badge.
 */
import { createHash } from "node:crypto";
import mongoose, { Schema } from "mongoose";
import sharp from "sharp";
import { AppError } from "../errors.js";
import { UserModel } from "./user.model.js";

/** nginx's client_max_body_size (nginx.conf.template) stays a little above this, so the app can answer. */
export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;
/** What the profile form, and nginx's own 413 page, say about a picture over the limit. */
export const AVATAR_TOO_LARGE = `That picture is larger than ${MAX_AVATAR_BYTES / 1024 / 1024} MB. Choose a smaller one.`;
const ACCEPTED_FORMATS = new Set(["jpeg", "png", "webp", "gif"]);

const avatarSchema = new Schema({
  userId: { type: Schema.Types.ObjectId, required: true, unique: true },
  image: { type: Buffer, required: true },
  contentType: { type: String, required: true },
});
export const AvatarModel = mongoose.model("Avatar", avatarSchema);

const badImage = (message: string) => new AppError(400, "bad_image", message, true, { avatar: message });

/** Returns a 256×256 WebP of `input`, or throws a 400 that says what was wrong with it. */
export async function processAvatar(input: Buffer): Promise<Buffer> {
  let format: string | undefined;
  try {
    // limitInputPixels stops decompression bombs (a tiny file that decodes to gigapixels).
    format = (await sharp(input, { limitInputPixels: 40_000_000 }).metadata()).format;
  } catch {
    throw badImage("That file is not an image we can read. Use a JPEG, PNG, WebP or GIF.");
  }
  if (!format || !ACCEPTED_FORMATS.has(format)) throw badImage("Use a JPEG, PNG, WebP or GIF image.");
  try {
    return await sharp(input, { limitInputPixels: 40_000_000, animated: false })
      .rotate()
      .resize(256, 256, { fit: "cover", position: "attention" })
      .webp({ quality: 82 })
      .toBuffer();
  } catch {
    throw badImage("That image looks damaged. Try another file.");
  }
}

/** Stores `image` as the user's picture; its new version changes the picture's URL, so no cache shows the old one. */
export async function saveAvatar(userId: string, image: Buffer): Promise<void> {
  await AvatarModel.updateOne({ userId }, { $set: { image, contentType: "image/webp" } }, { upsert: true });
  await UserModel.updateOne({ _id: userId }, { $inc: { avatarVersion: 1 } });
}

/** Back to generated initials. */
export async function removeAvatar(userId: string): Promise<void> {
  await AvatarModel.deleteOne({ userId });
  await UserModel.updateOne({ _id: userId }, { $inc: { avatarVersion: 1 } });
}

/** The user's stored picture (WebP), or undefined when they use initials. */
export async function storedAvatar(userId: string): Promise<Buffer | undefined> {
  const avatar = await AvatarModel.findOne({ userId }, { image: 1 });
  return avatar?.image ?? undefined;
}

const PALETTE = ["#5b5bd6", "#12a594", "#e5484d", "#f76b15", "#3e63dd", "#8e4ec6", "#30a46c", "#d6409f"];

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);

/** A round badge with up to two initials, coloured by user id so it stays the same. */
export function initialsAvatar(userId: string, displayName: string): string {
  const words = displayName.trim().split(/\s+/u).filter(Boolean);
  const initials = (words.length > 1 ? [words[0], words[words.length - 1]] : [words[0] ?? "?"])
    .map((w) => Array.from(w ?? "")[0] ?? "")
    .join("")
    .toUpperCase();
  const colour = PALETTE[(createHash("sha256").update(userId).digest()[0] ?? 0) % PALETTE.length];
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">` +
    `<circle cx="32" cy="32" r="32" fill="${colour}"/>` +
    `<text x="32" y="33" dominant-baseline="middle" text-anchor="middle" font-family="system-ui,sans-serif" font-size="26" font-weight="600" fill="#fff">${escapeXml(initials)}</text>` +
    `</svg>`
  );
}
