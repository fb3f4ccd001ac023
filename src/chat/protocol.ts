/**
 * The chat WebSocket protocol, in one place: every frame either side may send, as types and
 * limits that the browser client and the server both import. The server validates every incoming
 * frame with `parseClientFrame` (frame-parser.ts), whose schema is checked against these types
 * at compile time; it lives apart so the page's script does not carry the validator (zod was
 * 443 KiB of the chat page's 490 KiB).
 *
 * Client → server
 *   send     { clientId, text, replyTo? }   store and deliver a message (retry with the same clientId);
 *                                      `replyTo` is the number of an earlier message of the room it
 *                                      answers (refused with not_found if the room has none such)
 *   attach   { clientId, caption, replyTo? }   send the attachment uploaded with this clientId
 *                                      (POST /api/rooms/:room/attachments?clientId=), with a caption;
 *                                      `replyTo` as for `send`
 *   edit     { seq, text }             replace the text of one of your own messages
 *   delete   { seq }                   remove one of your own messages
 *   typing   {}                        you are typing (at most every few seconds)
 *   read     { seq }                   you have read everything up to seq
 *   react    { seq, emoji, on }        add (on) or take back (!on) your `emoji` on message seq; one
 *                                      of REACTIONS; saying the same twice changes nothing
 *   visibility { visible }             the page went to the back (hidden tab) or the front; a socket
 *                                      counts as visible until told. Pushes go to users with no
 *                                      visible socket. The list's socket (/ws/inbox) takes this
 *                                      frame too, and nothing else.
 *
 * Server → client (the list's socket, /ws/inbox, sends only `inbox`)
 *   inbox    { rooms }                 these conversations changed ("*": any may have); [] on connect
 *   ready    { upTo, readUpTo, peerReadUpTo }   catch-up done: everything up to `upTo` has been
 *                                      sent; what you and the other member have read up to
 *   ack      { clientId, seq, at }     your message is stored (sent only after MongoDB has it)
 *   message  { seq, from, clientId, text, at, editedAt?, deleted?, unreadable?, attachment? }   a message: the
 *                                      peer's, or yours from another tab (the sending socket has its
 *                                      ack only); `unreadable` when it failed authentication at rest;
 *                                      `attachment` for a file (text is then its caption, maybe empty);
 *                                      `replyTo`: the quoted message (number, author, a short excerpt,
 *                                      or that it was deleted / a file), resolved when sent, never stored;
 *                                      `reactions`: [{ emoji, by: [userId] }] (history and catch-up)
 *   edited   { seq, text, at }     deleted { seq }   (a deleted message loses its reactions too)
 *   reaction { seq, from, emoji, on }  `from` added (on) or took back `emoji` on message seq
 *   typing   { from }                  read { from, seq }
 *   presence { userId, online, lastSeenAt }
 *   block    { by, blocked }          one member blocked (or unblocked) the other
 *   error    { code, message, clientId?, retryAfterMs? }   refused; with retryAfterMs, send the
 *                                      refused message and everything after it again, in order
 *            code peer_deleted: the other member deleted their account; the socket is then
 *            closed with 1008 (the room is read-only, so reconnecting would be refused again)
 */
export const MAX_MESSAGE_LENGTH = 4000;
/** The close code of a socket whose conversation a member deleted (for both): don't reconnect. */
export const ROOM_DELETED_CLOSE = 4404;
/** The largest frame a client may send: the longest message in 4-byte UTF-8 plus framing. */
export const MAX_FRAME_BYTES = MAX_MESSAGE_LENGTH * 4 + 1024;

/**
 * The reactions Duet offers, with their names (the picker's labels). A closed list rather than
 * "any single emoji": it is what the picker shows, it keeps a reaction a few bytes, and it leaves
 * no room for text smuggled in as a "reaction" (docs/decisions/012).
 */
export const REACTIONS = {
  "👍": "thumbs up",
  "❤️": "red heart",
  "😂": "face with tears of joy",
  "😮": "surprised face",
  "😢": "crying face",
  "🙏": "folded hands",
  "🎉": "party popper",
  "🔥": "fire",
  "👏": "clapping hands",
  "😊": "smiling face",
  "😍": "heart eyes",
  "🤔": "thinking face",
  "👀": "eyes",
  "✅": "check mark",
  "👎": "thumbs down",
  "😅": "grinning face with sweat",
  "🙌": "raised hands",
  "💯": "hundred points",
  "😎": "smiling face with sunglasses",
  "🤝": "handshake",
  "🥳": "partying face",
  "😴": "sleeping face",
  "🌟": "glowing star",
  "☕": "hot beverage",
} as const satisfies Record<string, string>;
export type Reaction = keyof typeof REACTIONS;
/** Distinct (member, emoji) reactions one message may carry. */
export const MAX_REACTIONS_PER_MESSAGE = 20;

/** Every frame a client may send (validated by frame-parser.ts). */
export type ClientFrame =
  | { type: "send"; clientId: string; text: string; replyTo?: number | undefined }
  | { type: "attach"; clientId: string; caption: string; replyTo?: number | undefined }
  | { type: "edit"; seq: number; text: string }
  | { type: "delete"; seq: number }
  | { type: "typing" }
  | { type: "read"; seq: number }
  | { type: "react"; seq: number; emoji: Reaction; on: boolean }
  | { type: "visibility"; visible: boolean };

/** A file sent in a conversation, as members see it (name and type are stored encrypted). */
export type AttachmentInfo = {
  /** The client id it was uploaded and sent with: with the sender, it names the file's URL. */
  id: string;
  name: string;
  type: string;
  /** Bytes. */
  size: number;
  /** Images only: the original's dimensions and the inline preview's (a re-encoded WebP). */
  image?: { width: number; height: number; previewWidth: number; previewHeight: number };
};

/**
 * Audio a browser plays inline from `${url}/audio` (voice notes and common audio files); served
 * with this type only, never as anything that could run script.
 */
export const PLAYABLE_AUDIO_TYPES: readonly string[] = ["audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav"];
export const isPlayableAudio = (type: string) => PLAYABLE_AUDIO_TYPES.includes(type);

/** Where an attachment is fetched: its preview (images) is `${url}/preview`, audio plays from `${url}/audio`. */
export const attachmentUrl = (roomId: string, from: string, id: string) =>
  `/api/rooms/${encodeURIComponent(roomId)}/attachments/${encodeURIComponent(from)}/${encodeURIComponent(id)}`;

/** What a reply shows of the message it answers: worked out when sent, never stored. */
export type Quote = {
  seq: number;
  /** Absent when the quoted message could not be looked up (the client may know it). */
  from?: string;
  /** The start of its text (or caption). */
  excerpt?: string;
  deleted?: boolean;
  attachment?: boolean;
  unreadable?: boolean;
};

/** How much of the original a quote shows. */
export const EXCERPT_LENGTH = 120;

/** What a reply shows of `original` (absent: not found). Shared: the page quotes what it holds. */
export function quoteOf(
  seq: number,
  original: Pick<PlainMessage, "from" | "text" | "deleted" | "unreadable" | "attachment"> | undefined,
): Quote {
  if (!original) return { seq };
  const quote: Quote = { seq, from: original.from };
  if (original.deleted) return { ...quote, deleted: true };
  if (original.unreadable) return { ...quote, unreadable: true };
  const text = original.text.replace(/\s+/g, " ").trim();
  const excerpt = text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH - 1).trimEnd()}…` : text;
  if (original.attachment) return { ...quote, attachment: true, excerpt: excerpt || original.attachment.name };
  return excerpt ? { ...quote, excerpt } : quote;
}

/** One emoji on a message and who put it there. */
export type ReactionCount = { emoji: Reaction; by: string[] };

/** A message as both ends see it: decrypted, in its place in the room. */
export type PlainMessage = {
  seq: number;
  from: string;
  clientId: string;
  text: string;
  at: string;
  editedAt?: string;
  deleted?: boolean;
  /** Stored, but it failed authentication: shown as "this message could not be read". */
  unreadable?: boolean;
  /** A file; `text` is its caption. */
  attachment?: AttachmentInfo;
  /** The message this one answers. */
  replyTo?: Quote;
  /** Reactions, oldest first per emoji (history and catch-up; live ones come as `reaction`). */
  reactions?: ReactionCount[];
};

export type ServerFrame =
  | { type: "ready"; upTo: number; readUpTo: number; peerReadUpTo: number }
  | { type: "ack"; clientId: string; seq: number; at: string }
  | ({ type: "message" } & PlainMessage)
  | { type: "edited"; seq: number; text: string; at: string; unreadable?: boolean }
  | { type: "deleted"; seq: number }
  | { type: "reaction"; seq: number; from: string; emoji: Reaction; on: boolean }
  | { type: "typing"; from: string }
  | { type: "read"; from: string; seq: number }
  | { type: "presence"; userId: string; online: boolean; lastSeenAt: string | null }
  | { type: "block"; by: string; blocked: boolean }
  | { type: "error"; code: ErrorCode; message: string; clientId?: string; retryAfterMs?: number };

/**
 * The conversation list's socket (/ws/inbox): which rooms changed, never what changed; and the
 * other member of a room coming online or going offline (the page moves the dot, no fetch).
 */
export type InboxFrame = { type: "inbox"; rooms: string[] } | { type: "presence"; room: string; online: boolean };

export type ErrorCode =
  | "bad_frame"
  | "too_long"
  | "rate_limited"
  | "blocked"
  | "not_yours"
  | "unavailable"
  | "not_found"
  /** A message already carries MAX_REACTIONS_PER_MESSAGE reactions. */
  | "too_many"
  /** An earlier send on this socket was refused: it must go again first (order is kept). */
  | "out_of_order"
  /** The other member deleted their account: the room is read-only. */
  | "peer_deleted";
