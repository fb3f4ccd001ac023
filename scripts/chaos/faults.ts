/**
 * The faults, one at a time, each injected mid-conversation and held for a few seconds, then
 * repaired. Crashes are `kill -9` through the stack's own stopOne (graceMs 0) and startOne;
 * hangs are SIGSTOP and SIGCONT (pauseOne, resumeOne). Only the stack under STACK_DIR is touched.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { readPid } from "../lib/processes.js";
import { socketInodes, tcpConnections } from "../lib/proc-info.js";
import type { StackSettings } from "../lib/settings.js";
import { pauseOne, resumeOne, services, startOne, stopOne } from "../lib/stack.js";
import type { Room } from "./cast.js";
import type { Tab, Typed } from "./client.js";
import type { Conversation } from "./conversation.js";

export type FaultContext = {
  settings: StackSettings;
  /** How long a fault is held (a SIGSTOP of FerretDB is held past the tabs' ack timeout). */
  holdMs: number;
  ackTimeoutMs: number;
  /** How long the slow reader stays frozen; with `flood`, the others paste long texts meanwhile. */
  slowReaderMs: number;
  flood: boolean;
  rooms: Room[];
  talk: Conversation;
  /** Opens another tab for member `member` of `room`, as a page load would. */
  openTab(room: Room, member: 0 | 1): Promise<Tab>;
  /** Whether MongoDB holds this message (read-only). */
  isStored(roomId: string, clientId: string): Promise<boolean>;
  log(line: string): void;
};

export type Injected = { repair(): Promise<void>; detail?(): string };
export type Fault = { name: string; inject(ctx: FaultContext): Promise<Injected> };

/** Resolves once `probe` holds, polling; rejects after `timeoutMs`. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

const crash = (service: string): Fault => ({
  name: `kill -9 ${service}`,
  async inject(ctx) {
    await stopOne(ctx.settings, service, { graceMs: 0 });
    await sleep(ctx.holdMs);
    return { repair: async () => void (await startOne(ctx.settings, service)) };
  },
});

const stallDatabase: Fault = {
  name: "SIGSTOP ferretdb",
  async inject(ctx) {
    pauseOne(ctx.settings, "ferretdb");
    // Longer than a tab waits for an ack: the tabs give up on their sockets and reconnect.
    await sleep(ctx.ackTimeoutMs + ctx.holdMs);
    return { repair: async () => resumeOne(ctx.settings, "ferretdb") };
  },
};

/**
 * A frozen background tab: it stops reading its socket while the room goes on, then reads again
 * (and reconnects if the server ended the socket meanwhile). With `flood`, the other member and a
 * second tab of the reader's own paste long texts (under the send limit), so that the server's
 * buffer for the frozen socket passes its cut-off (1013); behind nginx the kernel's socket
 * buffers take several MB first, and the ping/pong check (no pong from a tab that does not read)
 * may end the socket before that.
 */
const slowReader: Fault = {
  name: "slow reader",
  async inject(ctx) {
    const room = ctx.rooms[0];
    const reader = room?.tabs[1];
    const writer = room?.tabs[0];
    if (!room || !reader || !writer) throw new Error("no room for the slow reader");
    const readerVoice = ctx.talk.speakerOf(reader);
    const writerVoice = ctx.talk.speakerOf(writer);
    const before = { reader: readerVoice.rate, writer: writerVoice.rate };
    const connection = reader.connection;
    readerVoice.rate = 0;
    reader.pauseReading();
    const pasted: Typed[][] = [];
    if (ctx.flood) {
      const other = await ctx.openTab(room, 1);
      const otherVoice = ctx.talk.add(other, `${room.label}b'`, 0);
      for (const voice of [writerVoice, otherVoice]) Object.assign(voice, { rate: 4, paste: true });
      pasted.push(writer.typed, other.typed);
      await sleep(ctx.slowReaderMs);
      otherVoice.rate = 0;
      Object.assign(writerVoice, { rate: before.writer, paste: false });
    } else await sleep(ctx.slowReaderMs);
    const flooded = pasted.flat().filter((t) => t.text.length === 4000).length;
    return {
      async repair() {
        reader.resumeReading();
        readerVoice.rate = before.reader;
      },
      detail() {
        const closed = reader.closes.find((c) => c.conn === connection);
        const pastes = ctx.flood ? `, ${flooded} long texts (${Math.round((flooded * 12) / 1024)} MB) pasted meanwhile` : "";
        return `reader frozen ${Math.round(ctx.slowReaderMs / 1000)} s${pastes}; its socket ${closed ? `closed (${closed.code})` : "survived"}`;
      },
    };
  },
};

/** The app instance with at least `bytes` of a request waiting, unread, at the frozen FerretDB. */
function appWaitingOnDatabase(settings: StackSettings, bytes: number): string | undefined {
  const connections = tcpConnections();
  const clientPorts = new Set(
    connections.filter((c) => c.localPort === settings.mongoPort && c.rxQueue >= bytes).map((c) => c.remotePort),
  );
  for (const app of services(settings).filter((s) => s.name.startsWith("app-"))) {
    const pid = readPid(settings.pidsDir, app.name);
    const inodes = pid === undefined ? new Set<string>() : socketInodes(pid);
    if (connections.some((c) => clientPorts.has(c.localPort) && inodes.has(c.inode))) return app.name;
  }
  return undefined;
}

/**
 * An instance dies after MongoDB committed a message and before its ack left: FerretDB is
 * frozen, a long message is sent (its insert waits at FerretDB, found through /proc), the
 * instance holding that insert is frozen, FerretDB thawed (the commit happens), and the instance
 * is killed. The tab's retry on the other instance must get the stored number, and the other
 * member the message, once.
 */
const commitWithoutAck: Fault = {
  name: "die between commit and ack",
  async inject(ctx) {
    const room = ctx.rooms[0];
    const sender = room?.tabs[0];
    if (!room || !sender) throw new Error("no room for the commit fault");
    const voice = ctx.talk.speakerOf(sender);
    for (let attempt = 1; ; attempt++) {
      ctx.talk.quiet = true;
      await until("every send answered", () => ctx.rooms.every((r) => r.tabs.every((t) => t.pending === 0)), 30_000);
      // A warm-up send leaves the room's blocks in Redis (src/chat/blocks.ts), so the next send
      // goes straight to its insert and nothing else of it waits at FerretDB.
      const warm = ctx.talk.typeNow(voice);
      await until("the warm-up ack", () => warm.ack !== undefined, 10_000);
      pauseOne(ctx.settings, "ferretdb");
      const probe = ctx.talk.typeNow(voice, true);
      let frozen: string | undefined;
      try {
        const found = () => (frozen = appWaitingOnDatabase(ctx.settings, 8_000)) !== undefined;
        await until("an insert waiting at FerretDB", found, 3_000).catch(() => undefined);
        if (frozen) pauseOne(ctx.settings, frozen);
      } finally {
        ctx.talk.quiet = false;
        resumeOne(ctx.settings, "ferretdb");
      }
      if (!frozen) {
        if (attempt === 3) throw new Error("the probe's insert was never seen waiting at FerretDB");
        ctx.log(`commit fault: the probe's insert was not seen at FerretDB (attempt ${attempt}); again`);
        continue;
      }
      const app = frozen;
      try {
        await until("the probe committed", () => ctx.isStored(room.roomId, probe.clientId), 10_000);
      } finally {
        await stopOne(ctx.settings, app, { graceMs: 0 });
      }
      const killedAt = Date.now();
      await sleep(ctx.holdMs);
      return {
        repair: async () => void (await startOne(ctx.settings, app)),
        detail() {
          const ack = probe.ack;
          const retried = ack !== undefined && ack.at > killedAt && ack.conn !== probe.sentOn[0];
          const outcome = retried
            ? `acked on a retry as #${ack.seq}`
            : ack
              ? `acked as #${ack.seq} before the kill`
              : "never acked";
          return `${app} frozen with the probe's insert at FerretDB, killed after the commit; the probe ${outcome}`;
        },
      };
    }
  },
};

/**
 * Every fault, by the name its flag uses, in the default order. The slow reader comes last: its
 * long pastes grow the messages collection by megabytes, and FerretDB reads a room by scanning
 * the whole collection, so every fault after it would run on a slower database.
 */
export const FAULTS: Record<string, Fault> = {
  redis: crash("redis"),
  "app-1": crash("app-1"),
  "app-2": crash("app-2"),
  ferretdb: crash("ferretdb"),
  nginx: crash("nginx"),
  "ferretdb-stall": stallDatabase,
  "commit-ack": commitWithoutAck,
  "slow-reader": slowReader,
};

/** Leaves every service of the stack running: thawed, and started if it was stopped. */
export async function restoreStack(settings: StackSettings): Promise<void> {
  for (const service of services(settings))
    if (readPid(settings.pidsDir, service.name) !== undefined) resumeOne(settings, service.name);
  for (const service of services(settings)) await startOne(settings, service.name);
}
