/**
 * `POST /api/rooms/:room/search`: members only (404 for anyone else, as for the room itself),
 * limited per user. A POST, so the query never sits in a URL (nginx and app logs record paths,
 * browsers keep URLs in history); its body is logged nowhere.
 */
import type Router from "@koa/router";
import { z } from "zod";
import { parseForm } from "../../http/forms.js";
import { requireUser, signedInUserId } from "../../accounts/current-user.js";
import { badRequest, notFound } from "../../errors.js";
import { spend, type Limiter } from "../../http/rate-limit.js";
import { createRouter } from "../../http/router.js";
import { roomForMember } from "../conversations.js";
import type { Unreadable } from "../history.js";
import type { RoomKey } from "../rooms.js";
import { MAX_QUERY_LENGTH, searchRoom } from "../search.js";

export type SearchRoutesDeps = {
  keyFor(roomId: string): Promise<RoomKey>;
  unreadable: Unreadable;
  /** Searches per user; each opens up to SCAN_LIMIT messages. */
  limiter: Limiter;
};

const searchBody = z.object({
  q: z.string().trim().min(1).max(MAX_QUERY_LENGTH),
  before: z.coerce.number().int().positive().optional(),
  _csrf: z.string().optional(),
});

export function searchRoutes(deps: SearchRoutesDeps): Router {
  const router = createRouter();
  router.post("/api/rooms/:room/search", requireUser, async (ctx) => {
    const userId = signedInUserId(ctx);
    const room = await roomForMember(ctx.params.room ?? "", userId);
    if (!room) throw notFound("No such conversation.");
    const form = parseForm(ctx, searchBody);
    // The error names the fields, never echoes what was sent.
    if (!form.ok) throw badRequest("bad_search", `Search for 1 to ${MAX_QUERY_LENGTH} characters; "before" is a message number.`);
    await spend(deps.limiter, userId);
    ctx.set("Cache-Control", "no-store");
    ctx.body = await searchRoom(await deps.keyFor(room._id), room._id, form.values.q, form.values.before, deps.unreadable);
  });
  return router;
}
