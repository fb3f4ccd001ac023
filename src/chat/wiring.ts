/** Wires the chat runtime for one app instance: hub, message store, key cache, presence, push, sockets; app.ts and server.ts take it from here. */
import type { Redis } from "ioredis";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { UpgradeRoute } from "../realtime/upgrade.js";
import { createSessionSockets } from "../realtime/session-sockets.js";
import { SESSION_ENDED_CHANNEL, sessionByHandle, sessionDeadline } from "../http/session-store.js";
import type { ChatDeps } from "./connection.js";
import { removeAttachmentOf } from "./attachments/removal.js";
import { scheduleAttachmentSweeps } from "./attachments/sweep.js";
import { roomBlocks } from "./blocks.js";
import { createPresence, type Presence } from "./presence.js";
import { createHub, type Hub } from "./hub.js";
import { reportUnreadable, type Unreadable } from "./history.js";
import { createMessageStore, type MessageStore } from "./message-store.js";
import { createRoomActivity } from "./room-activity.js";
import { followRekeys, scheduleRekeys } from "./room-rekey.js";
import { roomKeyCache } from "./rooms.js";
import { createSequencer, type Sequencer } from "./sequencer.js";
import { chatSocketRoute } from "./socket.js";
import { createSummaries, SUMMARY_EFFECT, summaryEffect, type Summaries } from "./summaries.js";
import { inboxSocketRoute } from "./inbox-socket.js";
import { SEND_LIMIT } from "./limits.js";
import { createHeartbeat } from "../realtime/heartbeat.js";
import { atMost } from "../concurrency.js";
import { createNotifier } from "./notify/notifier.js";
import { createVisibility, LOOKING, lookingEffect } from "./notify/visibility.js";

export type Chat = {
  route: UpgradeRoute;
  /** The conversation list's live socket (inbox-socket.ts). */
  inboxRoute: UpgradeRoute;
  hub: Hub;
  store: MessageStore;
  sequencer: Sequencer;
  keyFor: ChatDeps["keyFor"];
  unreadable: Unreadable;
  presence: Presence;
  summaries: Summaries;
  close(): Promise<void>;
};

export function createChat(config: Config, log: Logger, redis: Redis, subscriber: Redis): Chat {
  const summaries = createSummaries(redis);
  const hub = createHub(redis, subscriber, log, {
    effects: {
      summary: { lua: SUMMARY_EFFECT, of: summaryEffect, lost: (event) => summaries.lost(event.roomId) },
      // Whether a message's recipient is looking: only the notifier asks (pushes on).
      ...(config.push ? { [LOOKING]: lookingEffect } : {}),
    },
  });
  const sessions = createSessionSockets({
    subscriber,
    channel: SESSION_ENDED_CHANNEL,
    deadlineOf: async (handle) => sessionDeadline(await sessionByHandle(redis, handle)),
    log,
  });
  const keys = roomKeyCache(config.masterKeys);
  const unfollowRekeys = followRekeys(subscriber, keys.reload, log.child({ part: "chat" }));
  // A re-key announced while the subscriber was away: every cached ring is read again when next used.
  subscriber.on("ready", () => keys.ageAll());
  const [master] = config.masterKeys;
  const stopRekeying =
    config.roomKeyMaxAgeMs > 0 && master
      ? scheduleRekeys({
          master,
          maxAgeMs: config.roomKeyMaxAgeMs,
          everyMs: 60 * 60_000,
          redis,
          log: log.child({ part: "chat" }),
        })
      : () => undefined;
  const stopSweeping = scheduleAttachmentSweeps({
    maxAgeMs: config.attachments.unsentMaxAgeMs,
    everyMs: 60 * 60_000,
    log: log.child({ part: "chat" }),
  });
  const sequencer = createSequencer(redis);
  const activity = createRoomActivity(log.child({ part: "chat" }), { pauseMs: config.roomActivityPauseMs });
  const store = createMessageStore({
    keyFor: keys.keyFor,
    sequencer,
    activity,
    sendLimit: SEND_LIMIT,
    maxInFlight: config.messageWritesInFlight,
  });
  const unreadable = reportUnreadable(log.child({ part: "chat" }));
  const heartbeat = createHeartbeat(25_000);
  const presence = createPresence({ redis, hub, log: log.child({ part: "chat" }) });
  // Which users look at a Duet page (for the notifier only, so kept only when pushes are on).
  const visibility = config.push ? createVisibility({ redis, log: log.child({ part: "push" }) }) : undefined;
  const notifier =
    config.push && visibility
      ? createNotifier({ push: config.push, masterKeys: config.masterKeys, redis, visibility, log: log.child({ part: "push" }) })
      : undefined;
  const deps: ChatDeps = {
    log: log.child({ part: "chat" }),
    unreadable,
    redis,
    hub,
    store,
    sequencer,
    keyFor: keys.keyFor,
    removeAttachmentOf,
    activity,
    heartbeat,
    maxBufferedBytes: 1024 * 1024,
    catchUpLimit: 5000,
    blocks: roomBlocks(redis),
    presence,
    notices: notifier,
    visibility,
    // A number missing below a delivered one is usually another instance's write a few
    // milliseconds behind; it is looked up after this long, and settled for good after 5 s.
    gapLookupMs: 300,
    gapSettleMs: 5_000,
    // Each lookup may be a scan (FerretDB/SQLite): a few at a time per instance, however many
    // sockets wait, so a slow database is not buried under them (decision 019).
    gapReads: atMost(2),
  };
  return {
    route: chatSocketRoute(config, redis, deps, sessions),
    inboxRoute: inboxSocketRoute(config, redis, { hub, visibility, log: log.child({ part: "inbox" }) }, sessions),
    hub,
    store,
    sequencer,
    keyFor: keys.keyFor,
    unreadable,
    presence,
    summaries,
    async close() {
      heartbeat.close();
      stopRekeying();
      stopSweeping();
      await unfollowRekeys();
      await store.drain();
      await notifier?.drain();
      await activity.close();
      await sessions.close();
      await presence.close();
      await visibility?.close();
      await hub.close();
      summaries.close();
    },
  };
}
