/**
 * What a search costs (docs/decisions/013-search.md): a 10,000-message room stored through the
 * app's own message store on the running stack, then searched page by page, as the page's
 * "Search older messages" does, through the same function the route calls. Prints the time per
 * window of SCAN_LIMIT messages and for the whole room.
 *
 *   node --import tsx scripts/bench/search.ts            (the stack in STACK_DIR / .stack)
 */
import { randomUUID } from "node:crypto";
import mongoose from "mongoose";
import { createLogger } from "../../src/logger.js";
import { decryptStored, reportUnreadable } from "../../src/chat/history.js";
import { MessageModel } from "../../src/chat/message.model.js";
import { roomBetween, roomKeyCache } from "../../src/chat/rooms.js";
import { SCAN_LIMIT, searchRoom } from "../../src/chat/search.js";
import { parseMasterKeys } from "../../src/master-keys.js";
import { connectServices, messageStore, stack, testConfig } from "../../src/test/support.js";

const COUNT = 10_000;
const services = await connectServices();
try {
  const masters = parseMasterKeys(stack.MASTER_KEYS);
  const [master] = masters;
  if (!master) throw new Error("no master key");
  const [a, b] = [new mongoose.Types.ObjectId(), new mongoose.Types.ObjectId()].map(String) as [string, string];
  const roomId = await roomBetween(master, a, b);
  const keys = roomKeyCache(masters);
  const store = messageStore(services.redis, keys.keyFor);
  const stored = Date.now();
  for (let i = 0; i < COUNT; i += 1000)
    await Promise.all(
      Array.from({ length: 1000 }, (_, j) =>
        store.store({
          roomId,
          senderId: (i + j) % 2 ? a : b,
          clientId: randomUUID(),
          text: (i + j) % 500 === 7 ? `a lantern in message ${i + j}` : `an ordinary message, number ${i + j}, of some length`,
        }),
      ),
    );
  await store.drain();
  console.log(`[search] stored ${COUNT} messages in ${Date.now() - stored} ms`);

  const unreadable = reportUnreadable(createLogger(testConfig()));
  // The database's part alone: the same query for the newest window, without opening anything.
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await MessageModel.find({ roomId, kind: { $in: ["text", "attachment"] } })
      .sort({ seq: -1 })
      .limit(SCAN_LIMIT)
      .lean();
    console.log(`[search] the query alone (one window of ${SCAN_LIMIT}): ${(performance.now() - t).toFixed(0)} ms`);
  }
  const messagesInDb = await MessageModel.estimatedDocumentCount();
  console.log(`[search] messages in the whole collection: ${messagesInDb}`);
  // The app's part alone: opening and matching one window already read.
  const docs = await MessageModel.find({ roomId, kind: "text" }).sort({ seq: -1 }).limit(SCAN_LIMIT).lean();
  const key = await keys.keyFor(roomId);
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    let hits = 0;
    for (const doc of docs) if (decryptStored(key, roomId, doc, unreadable).text.toLowerCase().includes("lantern")) hits++;
    console.log(`[search] opening and matching ${docs.length} messages: ${(performance.now() - t).toFixed(1)} ms (${hits} hits)`);
  }
  for (const run of [1, 2]) {
    const times: number[] = [];
    let found = 0;
    let before: number | undefined;
    const started = performance.now();
    do {
      const t = performance.now();
      const page = await searchRoom(await keys.keyFor(roomId), roomId, "LANTERN", before, unreadable);
      times.push(performance.now() - t);
      found += page.results.length;
      before = page.next ?? undefined;
    } while (before !== undefined);
    const total = performance.now() - started;
    times.sort((x, y) => x - y);
    console.log(
      `[search] run ${run}: ${times.length} windows of ${SCAN_LIMIT}, ${found} found, whole room ${total.toFixed(0)} ms; ` +
        `per window median ${times[Math.floor(times.length / 2)]?.toFixed(0)} ms, max ${times.at(-1)?.toFixed(0)} ms`,
    );
  }
} finally {
  await services.close();
}
