/**
 * Attachments over HTTP: upload (streamed), download and image preview, for the room's two
 * members only (404 for anyone else, as for the room). Nothing is ever rendered by the browser
 * from our origin: downloads are `attachment` with an opaque type; previews are WebP images we
 * encoded ourselves; audio goes to the player with an allowed audio type only; every answer has
 * nosniff and a sandboxing CSP.
 */
import type Router from "@koa/router";
import type { Context } from "koa";
import { requireUser, signedInUserId } from "../../accounts/current-user.js";
import { AppError, badRequest, notFound } from "../../errors.js";
import { streamUpload } from "../../http/multipart.js";
import { createRouter } from "../../http/router.js";
import type { Logger } from "../../logger.js";
import { roomForMember } from "../conversations.js";
import { isPlayableAudio } from "../protocol.js";
import type { RoomKey } from "../rooms.js";
import type { UploadLimiter } from "./limits.js";
import { openAttachment, openPreview } from "./serve.js";
import { fileTooLarge, receiveAttachment } from "./upload.js";

export type AttachmentRoutesDeps = {
  log: Logger;
  keyFor(roomId: string): Promise<RoomKey>;
  limits: UploadLimiter;
  maxBytes: number;
};

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
// What a multipart body adds around the file: boundaries and part headers (a long file name).
const MULTIPART_OVERHEAD = 16 * 1024;

function lockedDown(ctx: Context): void {
  ctx.set("X-Content-Type-Options", "nosniff");
  ctx.set("Content-Security-Policy", "default-src 'none'; sandbox");
  ctx.set("Cross-Origin-Resource-Policy", "same-origin");
}

/** `attachment; filename="ascii"; filename*=UTF-8''…`: every browser gets a safe name. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

export function attachmentRoutes(deps: AttachmentRoutesDeps): Router {
  const router = createRouter();

  async function memberRoom(ctx: Context) {
    const room = await roomForMember(ctx.params.room ?? "", signedInUserId(ctx));
    if (!room) throw notFound("No such conversation.");
    return room;
  }

  router.post("/api/rooms/:room/attachments", requireUser, async (ctx) => {
    const room = await memberRoom(ctx);
    const userId = signedInUserId(ctx);
    if (room.blockedBy.length > 0) throw new AppError(403, "blocked", "You can't send files in this conversation.");
    const clientId = typeof ctx.query.clientId === "string" ? ctx.query.clientId : "";
    if (!CLIENT_ID.test(clientId)) throw badRequest("bad_client_id", "clientId must be 1-64 letters, digits, _ or -.");
    // Without a length (a chunked body), the largest file is reserved against the quota.
    const length = ctx.get("content-length") ? Number(ctx.get("content-length")) : deps.maxBytes;
    if (!Number.isSafeInteger(length) || length < 0) throw badRequest("bad_length", "That upload's length is not a number.");
    // Refused before a byte is read: the page checks this too, before it starts.
    if (length > deps.maxBytes + MULTIPART_OVERHEAD) throw fileTooLarge(deps.maxBytes);
    const release = await deps.limits.reserve(userId, Math.min(length, deps.maxBytes));
    try {
      const key = await deps.keyFor(room._id);
      const result = await streamUpload(ctx, deps.maxBytes, (file) =>
        receiveAttachment({ roomId: room._id, senderId: userId, clientId, key }, file, deps.maxBytes),
      );
      ctx.status = result.duplicate ? 200 : 201;
      ctx.set("Cache-Control", "no-store");
      ctx.body = { attachment: result.attachment };
    } finally {
      await release().catch((err: unknown) => deps.log.warn({ err }, "upload reservation not released"));
    }
  });

  async function opened(ctx: Context) {
    const room = await memberRoom(ctx);
    const file = await openAttachment(await deps.keyFor(room._id), {
      roomId: room._id,
      senderId: ctx.params.from ?? "",
      clientId: ctx.params.id ?? "",
    });
    if (!file) throw notFound("No such file.");
    file.content.on("error", (err) =>
      deps.log.error({ err: err.message, roomId: room._id }, "an attachment could not be read while being served"),
    );
    return file;
  }

  router.get("/api/rooms/:room/attachments/:from/:id", requireUser, async (ctx) => {
    const file = await opened(ctx);
    lockedDown(ctx);
    ctx.set("Content-Disposition", contentDisposition(file.info.name));
    ctx.set("Cache-Control", "private, no-store");
    ctx.type = "application/octet-stream";
    ctx.length = file.info.size;
    ctx.body = file.content;
  });

  // Audio for the page's player: its own type (an allowed audio type only, so the browser plays
  // it and never renders it as a document), still nosniff and sandboxed.
  router.get("/api/rooms/:room/attachments/:from/:id/audio", requireUser, async (ctx) => {
    const file = await opened(ctx);
    if (!isPlayableAudio(file.info.type)) {
      file.content.destroy();
      throw notFound("That file is not audio the page can play.");
    }
    lockedDown(ctx);
    ctx.set("Cache-Control", "private, no-store");
    ctx.type = file.info.type;
    ctx.length = file.info.size;
    ctx.body = file.content;
  });

  router.get("/api/rooms/:room/attachments/:from/:id/preview", requireUser, async (ctx) => {
    const room = await memberRoom(ctx);
    const preview = await openPreview(await deps.keyFor(room._id), {
      roomId: room._id,
      senderId: ctx.params.from ?? "",
      clientId: ctx.params.id ?? "",
    });
    if (!preview) throw notFound("No such preview.");
    lockedDown(ctx);
    ctx.set("Cache-Control", "private, max-age=300");
    ctx.type = "image/webp";
    ctx.body = preview;
  });

  return router;
}
