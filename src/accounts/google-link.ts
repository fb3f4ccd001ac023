/** The link between a Duet account and a Google account (its stable `sub`), kept on the user. */
import mongoose from "mongoose";
import { UserModel } from "./user.model.js";

/** Links `sub` to `userId` unless either is already linked elsewhere. */
export async function linkGoogle(userId: string, sub: string): Promise<boolean> {
  try {
    const result = await UserModel.updateOne({ _id: userId, googleSub: { $exists: false } }, { $set: { googleSub: sub } });
    return result.modifiedCount === 1;
  } catch (err) {
    if (err instanceof mongoose.mongo.MongoServerError && err.code === 11000) return false;
    throw err;
  }
}
