/** Sending an uploaded attachment as a message: the `attach` frame's half of the work. */
import { CipherError } from "../cipher.js";
import { messageId } from "../message.model.js";
import type { Refusal } from "../messages.js";
import { ensureKeys, type RoomKey } from "../rooms.js";
import { ATTACHMENT_KIND, attachmentContent } from "./content.js";
import { describeAttachment } from "./describe.js";
import { AttachmentModel } from "./model.js";

type Actor = { roomId: string; userId: string; key: RoomKey };

/** The message to store for the attachment uploaded with `clientId`, or why there is none. */
export async function attachmentMessage(
  actor: Actor,
  input: { clientId: string; caption: string; replyTo?: number },
): Promise<{ ok: true; send: { clientId: string; text: string; kind: typeof ATTACHMENT_KIND; replyTo?: number } } | Refusal> {
  const doc = await AttachmentModel.findById(messageId(actor.roomId, actor.userId, input.clientId)).lean();
  if (doc?.state !== "ready")
    return { ok: false, code: "not_found", message: "That file was not uploaded completely. Attach it again." };
  await ensureKeys(actor.key, [doc.keyId]);
  try {
    const info = describeAttachment(actor.key, doc);
    const text = attachmentContent(input.caption, info);
    // A reply is checked by sendMessage like a text's: refused if its original is gone.
    const replyTo = input.replyTo !== undefined ? { replyTo: input.replyTo } : {};
    return { ok: true, send: { clientId: input.clientId, text, kind: ATTACHMENT_KIND, ...replyTo } };
  } catch (err) {
    if (!(err instanceof CipherError)) throw err;
    return { ok: false, code: "not_found", message: "That file could not be read. Attach it again." };
  }
}

/** Records the number of the message that carries the attachment (deleting it finds it so). */
export async function noteAttachmentSent(actor: Actor, clientId: string, seq: number): Promise<void> {
  await AttachmentModel.updateOne({ _id: messageId(actor.roomId, actor.userId, clientId) }, { $set: { seq } });
}
