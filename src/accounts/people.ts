/**
 * Other people's profiles (name, status, picture, last seen) are for the people they talk to.
 * Anyone else, signed in or not, is told the person does not exist: the same 404 as an unknown
 * id, so walking ids (ObjectIds are nearly sequential) finds nobody.
 */
import type { ConversationHooks } from "./deps.js";
import { isObjectIdHex } from "../ids.js";
import { UserModel, type User } from "./user.model.js";

/** Whether `viewerId` may see `subjectId`'s profile: it is their own, or they share a conversation. */
export async function mayView(
  viewerId: string,
  subjectId: string,
  sharesRoom: ConversationHooks["sharesRoom"],
): Promise<boolean> {
  return viewerId === subjectId || (await sharesRoom(viewerId, subjectId));
}

/** The verified user `subjectId` if `viewerId` may see them; undefined for everything else alike. */
export async function visiblePerson(
  viewerId: string,
  subjectId: string,
  sharesRoom: ConversationHooks["sharesRoom"],
): Promise<User | undefined> {
  if (!isObjectIdHex(subjectId) || !(await mayView(viewerId, subjectId, sharesRoom))) return undefined;
  const user = await UserModel.findById(subjectId).lean<User>();
  return user?.emailVerified ? user : undefined;
}
