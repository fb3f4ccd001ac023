/**
 * Validates what a client sends on a chat or list socket, against the protocol's types
 * (protocol.ts). Server only: the page's script imports the types, never this schema.
 */
import { z } from "zod";
import { MAX_MESSAGE_LENGTH, REACTIONS, type ClientFrame, type ErrorCode, type Reaction } from "./protocol.js";

const clientId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "clientId must be 1-64 letters, digits, _ or -");
const text = z
  .string()
  .max(MAX_MESSAGE_LENGTH, `a message can be at most ${MAX_MESSAGE_LENGTH} characters`)
  .refine((t) => t.trim().length > 0, "a message cannot be empty");
const seq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const reactionNames = Object.keys(REACTIONS) as [Reaction, ...Reaction[]];

const clientFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("send"), clientId, text, replyTo: seq.optional() }).strict(),
  z
    .object({
      type: z.literal("attach"),
      clientId,
      caption: z.string().max(MAX_MESSAGE_LENGTH, `a caption can be at most ${MAX_MESSAGE_LENGTH} characters`),
      replyTo: seq.optional(),
    })
    .strict(),
  z.object({ type: z.literal("edit"), seq, text }).strict(),
  z.object({ type: z.literal("delete"), seq }).strict(),
  z.object({ type: z.literal("typing") }).strict(),
  z.object({ type: z.literal("read"), seq }).strict(),
  z
    .object({
      type: z.literal("react"),
      seq,
      emoji: z.enum(reactionNames, { message: "not one of the reactions Duet offers" }),
      on: z.boolean(),
    })
    .strict(),
  z.object({ type: z.literal("visibility"), visible: z.boolean() }).strict(),
]);

// The schema and the protocol's type say the same thing: either one changed alone fails to compile.
type Parsed = z.infer<typeof clientFrame>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree: Same<Parsed, ClientFrame> = true;
void agree;

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; code: ErrorCode; message: string; clientId?: string };

/** Validates one incoming frame; never throws. */
export function parseClientFrame(raw: string): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { ok: false, code: "bad_frame", message: "frames must be JSON" };
  }
  const result = clientFrame.safeParse(data);
  if (result.success) return { ok: true, frame: result.data };
  const issue = result.error.issues[0];
  const id =
    typeof data === "object" && data !== null && "clientId" in data && typeof data.clientId === "string"
      ? data.clientId.slice(0, 64)
      : undefined;
  const tooLong = issue?.code === "too_big" && (issue.path[0] === "text" || issue.path[0] === "caption");
  return {
    ok: false,
    code: tooLong ? "too_long" : "bad_frame",
    message: issue ? `${issue.path.join(".") || "frame"}: ${issue.message}` : "invalid frame",
    ...(id ? { clientId: id } : {}),
  };
}
