/**
 * WebSocket frame fuzzing: a member sends generated frames (frames.ts) on their own room's
 * socket. Each frame the protocol does not allow must be answered with an error frame or a close
 * for cause (1007 bad UTF-8, 1008 too many bad frames, 1009 too big), never a 1011 or a dropped
 * connection, and must change nothing: no message stored, edited or deleted, no read position
 * moved. Afterwards both instances still answer and a normal message still goes through.
 * After each frame a harmless `read` of an unchanged position is sent as a fence: its echo
 * comes after whatever the server answered the frame.
 */
import fc from "fast-check";
import { stack } from "../../../src/test/support.js";
import type { ChatClient } from "../../../src/test/chat-client.js";
import { fuzzFrame, isValidFrame, MAX_FRAME_BYTES, type FuzzFrame, type Targets } from "../frames.js";
import { roomHistory } from "../history.js";
import { chatSocket, roomOf, sendAcked, signUp, type Person } from "../people.js";
import { tally, type Attack } from "../types.js";

/** Close codes that answer a bad frame for cause. */
const FOR_CAUSE = new Set([1007, 1008, 1009]);

type Answer = { kind: "refused"; code: string } | { kind: "closed"; code: number } | { kind: "silent" } | { kind: "timeout" };

async function exchange(socket: ChatClient, frame: FuzzFrame, me: string, fence: number): Promise<Answer> {
  const before = socket.frames.length;
  let closeCode: number | undefined;
  void socket.closed.then((c) => (closeCode = c.code));
  socket.ws.send(frame.data, { binary: frame.binary });
  if (socket.ws.readyState === socket.ws.OPEN) socket.send({ type: "read", seq: fence });
  const fenced = await Promise.race([
    socket.next("read", (f) => f.from === me && f.seq === fence && socket.frames.indexOf(f) >= before, 5_000).then(() => true),
    socket.closed.then(() => false),
  ]).catch(() => undefined);
  const error = socket.frames.slice(before).find((f) => f.type === "error");
  if (error?.type === "error") return { kind: "refused", code: error.code };
  await Promise.race([socket.closed, new Promise((resolve) => setTimeout(resolve, fenced ? 0 : 1_000))]);
  if (closeCode !== undefined) return { kind: "closed", code: closeCode };
  return fenced ? { kind: "silent" } : { kind: "timeout" };
}

async function instancesAnswer(): Promise<string[]> {
  const down: string[] = [];
  for (const instance of stack.APP_INSTANCES.split(",")) {
    const res = await fetch(`${instance}/healthz`).catch(() => undefined);
    if (res?.status !== 200) down.push(`${instance} answered ${res?.status ?? "nothing"}`);
  }
  return down;
}

async function messageGoesThrough(alice: Person, watcher: ChatClient, roomId: string): Promise<boolean> {
  const socket = await chatSocket(alice.browser, roomId);
  try {
    const clientId = `after-fuzz-${Date.now()}`;
    await sendAcked(socket, clientId, "a normal message after the fuzz");
    await watcher.next("message", (f) => f.clientId === clientId, 10_000);
    return true;
  } catch {
    return false;
  } finally {
    socket.ws.terminate();
  }
}

export const frameFuzz: Attack = {
  name: "WebSocket frame fuzzing",
  async run({ effort, backstage, log }) {
    const t = tally();
    const seed = Number(process.env.ATTACK_SEED ?? Date.now() % 2 ** 31);
    const runs = effort === "short" ? 60 : 600;
    const alice = await signUp(backstage, "fuzzer");
    const bob = await signUp(backstage, "fuzz-peer");
    const roomId = await roomOf(alice, bob);
    let socket = await chatSocket(alice.browser, roomId);
    const targets: Targets = {
      editSeq: await sendAcked(socket, "edit-target", "the text to keep"),
      deleteSeq: await sendAcked(socket, "delete-target", "the message to keep"),
      readSeq: 0,
    };
    targets.readSeq = targets.deleteSeq;
    const watcher = await chatSocket(bob.browser, roomId);

    const invalidMarkers: string[] = [];
    const valid: FuzzFrame[] = [];
    const seen = new Map<string, number>();
    for (let i = 0; i < runs; i++) {
      const [frame] = fc.sample(fuzzFrame(targets, `fz${i}q${seed}`), { numRuns: 1, seed: seed + i });
      if (!frame) continue;
      if (socket.ws.readyState !== socket.ws.OPEN) socket = await chatSocket(alice.browser, roomId);
      const answer = await exchange(socket, frame, alice.id, targets.readSeq);
      const outcome =
        answer.kind === "refused" ? `error ${answer.code}` : answer.kind === "closed" ? `close ${answer.code}` : answer.kind;
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
      if (isValidFrame(frame)) {
        valid.push(frame);
        continue;
      }
      invalidMarkers.push(frame.marker);
      // A frame far over the limit is cut off while still being written: its close frame can be
      // lost on the way through nginx, so the client sees the connection drop (1006).
      const oversized = Buffer.byteLength(frame.data) > MAX_FRAME_BYTES;
      const forCause = answer.kind === "closed" && (FOR_CAUSE.has(answer.code) || (oversized && answer.code === 1006));
      const held = answer.kind === "refused" || forCause;
      t.attempt(held, `${frame.label} (frame ${i}, seed ${seed}): ${outcome} ${JSON.stringify(String(frame.data).slice(0, 80))}`);
    }
    socket.ws.terminate();
    log(`seed ${seed}: ${[...seen].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
    t.note(
      `seed ${seed}; answers: ${[...seen].map(([k, n]) => `${k} ×${n}`).join(", ")}; ${valid.length} generated frames were valid`,
    );

    for (const down of await instancesAnswer()) t.attempt(false, `after the fuzz, ${down}`);
    t.attempt(await messageGoesThrough(alice, watcher, roomId), "a normal message did not go through after the fuzz");
    watcher.ws.terminate();

    // Nothing from an invalid frame was stored or changed.
    const history = await roomHistory(bob.browser, roomId);
    for (const m of history) {
      const marker = invalidMarkers.find((k) => m.text.includes(k) || m.clientId.includes(k));
      t.attempt(
        !marker,
        `stored from an invalid frame (${marker}): ${m.seq} ${m.clientId} ${JSON.stringify(m.text.slice(0, 60))}`,
      );
    }
    const validEdits = valid.filter((f) => /"edit"/.test(String(f.data))).length;
    const validDeletes = valid.filter((f) => /"delete"/.test(String(f.data))).length;
    const edited = history.find((m) => m.seq === targets.editSeq);
    if (validEdits === 0)
      t.attempt(edited?.text === "the text to keep", `the edit target now reads ${JSON.stringify(edited?.text)}`);
    const deleted = history.find((m) => m.seq === targets.deleteSeq);
    if (validDeletes === 0) t.attempt(!deleted?.deleted, "the delete target was deleted");
    const room = await backstage.collection("rooms").findOne({ _id: roomId as never });
    const readUpTo = (room?.readUpTo as Record<string, number> | undefined)?.[alice.id] ?? 0;
    const validReads = valid
      .map((f) => /"type":"read","seq":(\d+)/.exec(String(f.data))?.[1])
      .map(Number)
      .filter(Boolean);
    const allowed = Math.max(targets.readSeq, ...validReads);
    t.attempt(readUpTo <= allowed, `the read position moved to ${readUpTo} (valid frames allowed ${allowed})`);
    return t.outcome;
  },
};
