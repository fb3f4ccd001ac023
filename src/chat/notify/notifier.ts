/**
 * Push notifications for messages nobody is looking at. After a message is stored and announced
 * (messages.ts calls `stored` without waiting), the recipient is notified when no chat page or
 * conversation list of theirs is in front on any instance (none open, or every tab hidden:
 * visibility.ts; the hub's publish script answers that as it sends the message out, so a
 * recipient who is looking costs nothing more), have not muted the room, and were not already
 * notified about the room since they last read it. That "already notified" mark is a Redis key per
 * user and room, taken with SET NX so two instances never both send, and dropped when the user
 * reads the room.
 *
 * Off the hot path: work is queued and runs a few at a time; a full queue drops (and logs) rather
 * than holding memory or the sender; each push service request has a timeout. The payload names
 * the sender only (decision 010) unless the recipient opted in to the text (profile; decision
 * 017); it is encrypted for the browser either way.
 */
import type { Redis } from "ioredis";
import webpush, { WebPushError } from "web-push";
import type { PushConfig } from "../../config.js";
import type { Logger } from "../../logger.js";
import type { MasterKey } from "../../master-keys.js";
import { removeSubscription, subscriptionsOf, type StoredSubscription } from "../../accounts/push-subscriptions.js";
import { UserModel } from "../../accounts/user.model.js";
import { listUserSessions } from "../../http/session-store.js";
import { ATTACHMENT_KIND, readContent } from "../attachments/content.js";
import { isMutedBy } from "../mute.js";
import type { Published } from "../hub.js";
import { lookingIn, type Visibility } from "./visibility.js";
import { RoomModel } from "../room.model.js";

/** What messages.ts tells the notifier; neither call waits for anything. */
export type MessageNotices = {
  /**
   * A message from `from` to `to` was stored and published (`published`: what the hub answered,
   * undefined if it did not in time). `text` is the stored plaintext (an attachment's content for
   * kind "attachment"); kept in memory only.
   */
  stored(
    message: { roomId: string; from: string; to: string; seq: number; text: string; kind?: string },
    published: Published,
  ): void;
  read(roomId: string, userId: string): void;
};

/** The push payload (encrypted for the browser; the service worker shows it). */
export type PushPayload = { type: "message"; title: string; room: string; url: string; body?: string };

/** A message to notify about; `looking` is whether its recipient was looking, when known. */
type Job = Parameters<MessageNotices["stored"]>[0] & { looking?: boolean };

/** How much of a message an opted-in notification shows (the open tab's own shows as much). */
export const NOTIFICATION_TEXT_LENGTH = 140;

/** What an opted-in notification says of a message: the start of its text, or the file's name and caption. */
export function notificationBody(text: string, kind?: string): string {
  let shown = text;
  if (kind === ATTACHMENT_KIND) {
    try {
      const content = readContent(kind, text);
      shown = `Attachment: ${content.attachment?.name ?? "file"}${content.text ? ` (${content.text})` : ""}`;
    } catch {
      shown = "Attachment";
    }
  }
  shown = shown.replace(/\s+/g, " ").trim();
  return shown.length > NOTIFICATION_TEXT_LENGTH ? `${shown.slice(0, NOTIFICATION_TEXT_LENGTH - 1)}…` : shown;
}

const notifiedKey = (userId: string, roomId: string) => `duet:push-sent:${userId}:${roomId}`;
// A room left unread this long may notify again.
const NOTIFIED_TTL_MS = 7 * 24 * 3600_000;
// Messages looked at together (one Redis call for the recipients the hub did not answer for).
const BATCH = 64;

export type Notifier = MessageNotices & {
  /** Resolves once everything queued has been sent or given up. */
  drain(): Promise<void>;
};

export function createNotifier(deps: {
  push: PushConfig;
  masterKeys: readonly MasterKey[];
  redis: Redis;
  visibility: Pick<Visibility, "visibleOf">;
  log: Logger;
  /** Batches of notifications being prepared or sent at once, per instance. */
  maxInFlight?: number;
  maxQueued?: number;
  /** Per push service request. */
  timeoutMs?: number;
}): Notifier {
  const { redis, log } = deps;
  const maxInFlight = deps.maxInFlight ?? 8;
  const maxQueued = deps.maxQueued ?? 1000;
  const timeout = deps.timeoutMs ?? 10_000;
  const vapidDetails = { subject: deps.push.subject, publicKey: deps.push.publicKey, privateKey: deps.push.privateKey };
  const queue: Job[] = [];
  let inFlight = 0;
  const idle: Array<() => void> = [];
  const pump = () => {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, BATCH);
      inFlight++;
      void notifyBatch(batch)
        .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, "notifications not sent"))
        .finally(() => {
          inFlight--;
          pump();
          if (inFlight === 0 && queue.length === 0) for (const done of idle.splice(0)) done();
        });
    }
  };

  /**
   * The messages queued meanwhile, together: one notification per conversation until read (the
   * first unread message is the one shown); one Redis call for the recipients whose looking the
   * hub did not answer (rare: its publish failed or was slow), then the rest one by one.
   */
  async function notifyBatch(batch: Job[]): Promise<void> {
    const jobs = new Map<string, Job>();
    for (const job of batch) if (!jobs.has(`${job.to}:${job.roomId}`)) jobs.set(`${job.to}:${job.roomId}`, job);
    const unknown = [...jobs.values()].filter((job) => job.looking === undefined);
    const looking = await deps.visibility.visibleOf(unknown.map((job) => job.to));
    unknown.forEach((job, i) => (job.looking = looking[i]));
    await Promise.all(
      [...jobs.values()]
        .filter((job) => !job.looking)
        .map((job) =>
          notify(job).catch((err: unknown) =>
            log.warn({ err: err instanceof Error ? err.message : err, roomId: job.roomId }, "notification not sent"),
          ),
        ),
    );
  }

  async function notify({ roomId, from, to, text, kind }: Job): Promise<void> {
    // Already notified and not read since: the common case in a busy conversation, one Redis read.
    if ((await redis.exists(notifiedKey(to, roomId))) === 1) return;
    const room = await RoomModel.findById(roomId, { mutedBy: 1 }).lean();
    if (!room || isMutedBy(room, to)) return;
    // Only browsers that are still signed in to this account: signing out stops notifications.
    const signedIn = new Set((await listUserSessions(redis, to)).map((s) => s.device));
    const targets = (await subscriptionsOf(deps.masterKeys, to)).filter((s) => signedIn.has(s.device));
    if (targets.length === 0) return;
    const first = await redis.set(notifiedKey(to, roomId), "1", "PX", NOTIFIED_TTL_MS, "NX");
    if (first !== "OK") return;
    const sender = await UserModel.findById(from, { displayName: 1 }).lean();
    const recipient = await UserModel.findById(to, { notificationText: 1 }).lean();
    const body = recipient?.notificationText ? notificationBody(text, kind) : undefined;
    const payload: PushPayload = {
      type: "message",
      title: `New message from ${sender?.displayName ?? "someone"}`,
      room: roomId,
      url: `/chat/${roomId}`,
      ...(body ? { body } : {}),
    };
    await Promise.all(targets.map((target) => sendTo(to, target, payload)));
  }

  async function sendTo(userId: string, target: StoredSubscription, payload: PushPayload): Promise<void> {
    try {
      await webpush.sendNotification(target, JSON.stringify(payload), {
        vapidDetails,
        TTL: 24 * 3600,
        urgency: "high",
        timeout,
      });
    } catch (err) {
      // Gone for good: the browser unsubscribed, or the service expired it (RFC 8030 §7.3).
      if (err instanceof WebPushError && (err.statusCode === 404 || err.statusCode === 410)) {
        await removeSubscription(userId, target.device);
        log.info({ status: err.statusCode }, "expired push subscription removed");
        return;
      }
      log.warn(
        {
          err: err instanceof WebPushError ? `push service answered ${err.statusCode}` : err instanceof Error ? err.message : err,
        },
        "push not delivered",
      );
    }
  }

  return {
    stored(message, published) {
      const looking = lookingIn(published);
      // The common case: the recipient is looking at Duet (or wrote to themselves).
      if (looking || message.to === message.from) return;
      if (queue.length >= maxQueued) {
        log.warn({ roomId: message.roomId }, "notification queue full; notification dropped");
        return;
      }
      queue.push({ ...message, looking });
      pump();
    },
    read(roomId, userId) {
      void redis
        .del(notifiedKey(userId, roomId))
        .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, "notified mark not cleared"));
    },
    drain() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
