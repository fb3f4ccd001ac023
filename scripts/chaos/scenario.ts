/**
 * One chaos run: people sign up through the pages, pair up, and talk across both app instances
 * through nginx while the faults come one at a time; then everyone stops typing, every tab
 * reconnects once more to catch up, and what MongoDB stored is read back (read-only) for the
 * report. The stack is left fully running however the run ends.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient } from "mongodb";
import type { StackSettings } from "../lib/settings.js";
import { readStackEnv } from "../lib/stack-env.js";
import { castRooms, describeTabs, everyTabHeardSince, openTabFor, type Room } from "./cast.js";
import type { Delivery, Tab, Typed } from "./client.js";
import { startConversation } from "./conversation.js";
import { FAULTS, restoreStack, until, type FaultContext } from "./faults.js";

export type ChaosOptions = {
  pairs: number;
  /** Messages a second each member types. */
  rate: number;
  holdMs: number;
  ackTimeoutMs: number;
  slowReaderMs: number;
  flood: boolean;
  /** Tabs send read receipts as the page does (one per message frame). */
  reads: boolean;
  /** Fault names (keys of FAULTS), in order. */
  faults: string[];
  log(line: string): void;
};

/** One row's time span: the fault (or none) and when it was injected, repaired, recovered from. */
export type Window = {
  name: string;
  startedAt: number;
  injectedAt?: number;
  repairedAt?: number;
  detail?: string;
};

export type TabRecord = { typed: Typed[]; deliveries: Delivery[]; closes: Tab["closes"]; createdAt: number };
export type Stored = { roomId: string; seq: number; senderId: string; clientId: string };
export type ChaosRun = {
  windows: Window[];
  /** False when the tabs had not all caught up when the run stopped waiting: what had not arrived counts as lost. */
  settled: boolean;
  rooms: Array<{ roomId: string; tabs: TabRecord[] }>;
  stored: Stored[];
  startedAt: number;
  finishedAt: number;
};

const LEAD_MS = 1_000;
const SETTLE_MS = 1_000;
const RECOVERY_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 120_000;

export async function runChaos(settings: StackSettings, options: ChaosOptions): Promise<ChaosRun> {
  const unknown = options.faults.filter((f) => !(f in FAULTS));
  if (unknown.length > 0) throw new Error(`unknown fault ${unknown.join(", ")}; known: ${Object.keys(FAULTS).join(", ")}`);
  const stack = readStackEnv(settings.dir);
  const ca = readFileSync(stack.CA_CERT);
  const mongo = new MongoClient(stack.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 });
  const messages = mongo.db().collection<Stored & { kind: string }>("messages");
  const talk = startConversation();
  const rooms: Room[] = [];
  const windows: Window[] = [];
  const log = options.log;
  const startedAt = Date.now();
  // Some notes tell how a fault ended for its own messages, known only once the run is over.
  const details = new Map<Window, () => string>();

  try {
    await mongo.connect();
    log(`signing up ${options.pairs * 2} people through ${stack.APP_URL}`);
    const steady: Window = { name: "none (steady)", startedAt: Date.now() };
    windows.push(steady);
    talk.window = steady.name;
    rooms.push(...(await castRooms(stack, ca, options, talk)));

    const context: FaultContext = {
      settings,
      holdMs: options.holdMs,
      ackTimeoutMs: options.ackTimeoutMs,
      slowReaderMs: options.slowReaderMs,
      flood: options.flood,
      rooms,
      talk,
      log,
      async openTab(room, member) {
        const tab = await openTabFor(stack, ca, options, room.roomId, room.people[member]);
        room.tabs.push(tab);
        return tab;
      },
      isStored: async (roomId, clientId) => (await messages.countDocuments({ roomId, clientId })) > 0,
    };

    await sleep(LEAD_MS + options.holdMs + SETTLE_MS);

    // Whatever happens, the stack is left running: after the faults, on an error, and when this
    // process is told to stop (a test runner's timeout) in the middle of one.
    const stopped = (signal: NodeJS.Signals) => void restoreStack(settings).finally(() => process.kill(process.pid, signal));
    process.once("SIGTERM", stopped);
    process.once("SIGINT", stopped);
    let failure: unknown;
    try {
      for (const key of options.faults) {
        const fault = FAULTS[key];
        if (!fault) continue;
        const repeat = windows.filter((w) => w.name === fault.name || w.name.startsWith(`${fault.name} (`)).length;
        const window: Window = { name: repeat ? `${fault.name} (${repeat + 1})` : fault.name, startedAt: Date.now() };
        windows.push(window);
        talk.window = window.name;
        log(window.name);
        await sleep(LEAD_MS);
        window.injectedAt = Date.now();
        const injected = await fault.inject(context);
        window.repairedAt = Date.now();
        await injected.repair();
        await until(
          "every tab hearing a message typed after the repair",
          () => everyTabHeardSince(rooms, window.repairedAt ?? 0),
          RECOVERY_TIMEOUT_MS,
        ).catch((err: Error) => log(`${fault.name}: ${err.message}\n${describeTabs(rooms)}`));
        await sleep(SETTLE_MS);
        if (injected.detail) details.set(window, injected.detail);
      }
    } catch (err) {
      failure = err;
    } finally {
      process.off("SIGTERM", stopped);
      process.off("SIGINT", stopped);
    }
    await restoreStack(settings).catch((err: unknown) => (failure ??= err));
    if (failure) throw failure;

    log("everyone stops typing; every tab reconnects and catches up");
    talk.window = "after";
    talk.quiet = true;
    const tabs = rooms.flatMap((r) => r.tabs);
    const drained = await until("every send acknowledged", () => tabs.every((t) => t.pending === 0), DRAIN_TIMEOUT_MS).then(
      () => true,
      (err: Error) => (log(err.message), false),
    );
    for (const tab of tabs) void tab.reconnect();
    await until("every tab reconnected", () => tabs.every((t) => t.live), DRAIN_TIMEOUT_MS).catch((err: Error) =>
      log(err.message),
    );
    const caughtUp = async () => {
      const stored = await messages.find({ roomId: { $in: rooms.map((r) => r.roomId) }, kind: { $ne: "void" } }).toArray();
      return rooms.every((room) =>
        room.tabs.every((tab) => {
          const mine = new Set(tab.typed.map((t) => t.clientId));
          const got = new Set(tab.deliveries.map((d) => d.clientId));
          return stored.every((doc) => doc.roomId !== room.roomId || mine.has(doc.clientId) || got.has(doc.clientId));
        }),
      );
    };
    const settled = await until("every tab caught up", caughtUp, DRAIN_TIMEOUT_MS).then(
      () => drained,
      (err: Error) => (log(err.message), false),
    );
    // Anything still on its way (a duplicate, a late message) has a moment to show itself.
    await sleep(SETTLE_MS);
    const stored = (
      await messages
        .find(
          { roomId: { $in: rooms.map((r) => r.roomId) }, kind: { $ne: "void" } },
          { projection: { roomId: 1, seq: 1, senderId: 1, clientId: 1 } },
        )
        .toArray()
    ).map((d) => ({ roomId: d.roomId, seq: d.seq, senderId: String(d.senderId), clientId: d.clientId }));
    for (const [window, describe] of details) window.detail = describe();
    return {
      windows,
      settled,
      rooms: rooms.map((r) => ({
        roomId: r.roomId,
        tabs: r.tabs.map((t) => ({ typed: t.typed, deliveries: t.deliveries, closes: t.closes, createdAt: t.createdAt })),
      })),
      stored,
      startedAt,
      finishedAt: Date.now(),
    };
  } finally {
    talk.stop();
    for (const room of rooms) for (const tab of room.tabs) tab.close();
    await mongo.close();
  }
}
