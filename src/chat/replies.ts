/**
 * Replies: a message may name an earlier message of its room (`replyTo`, a number). Only the
 * number is stored; what the reply shows of the original (author, the start of its text, or that
 * it is a file or was deleted) is read from the original whenever the reply is sent to a client,
 * so a quote never holds a second copy of anyone's text, and an original deleted later shows as
 * deleted in every quote of it.
 */
import { MessageModel } from "./message.model.js";
import { quoteOf, type PlainMessage } from "./protocol.js";

/** Whether `seq` is a message of `roomId` that can be answered (sent, not deleted). */
export async function canReplyTo(roomId: string, seq: number): Promise<boolean> {
  return (await MessageModel.exists({ roomId, seq, kind: { $in: ["text", "attachment"] } })) !== null;
}

/** The numbers `messages` answer that are not among them (to be read to fill their quotes). */
export function quotedOutside(messages: readonly PlainMessage[]): number[] {
  const here = new Set(messages.map((m) => m.seq));
  return [...new Set(messages.flatMap((m) => (m.replyTo && !here.has(m.replyTo.seq) ? [m.replyTo.seq] : [])))];
}

/** Fills the quote of every reply in `messages` from the originals in `messages` and `others`. */
export function fillQuotes(messages: PlainMessage[], others: readonly PlainMessage[]): void {
  const bySeq = new Map([...others, ...messages].map((m) => [m.seq, m]));
  for (const message of messages)
    if (message.replyTo) message.replyTo = quoteOf(message.replyTo.seq, bySeq.get(message.replyTo.seq));
}
