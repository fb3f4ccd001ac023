/**
 * A blocked member writing anyway: Bob blocks Alice, whose sockets (old and new, on whichever
 * instance nginx picks) then send, edit and delete. Every write must be refused and nothing
 * stored or changed; and Alice cannot lift Bob's block by "unblocking" from her side.
 */
import type { ChatClient } from "../../../src/test/chat-client.js";
import { roomHistory } from "../history.js";
import { chatSocket, roomOf, sendAcked, signUp } from "../people.js";
import { tally, type Attack } from "../types.js";

/** Sends `frame` and waits for its refusal; answers the error code, or "" if none came. */
async function refusal(client: ChatClient, frame: Record<string, unknown>): Promise<string> {
  const before = client.frames.length;
  client.send(frame);
  return client
    .next("error", (f) => client.frames.indexOf(f) >= before, 5_000)
    .then(
      (f) => f.code,
      () => "",
    );
}

export const blockedWrites: Attack = {
  name: "blocked user writes",
  async run({ effort, backstage }) {
    const t = tally();
    const alice = await signUp(backstage, "blocked");
    const bob = await signUp(backstage, "blocker");
    const roomId = await roomOf(alice, bob);
    const early = await chatSocket(alice.browser, roomId);
    const own = [await sendAcked(early, "mine-1", "before the block"), await sendAcked(early, "mine-2", "also before")];
    const [first = 0, second = 0] = own;

    if ((await bob.browser.post(`/chat/${roomId}/block`, {})).status !== 302) t.note("the block was not taken");
    await early.next("block", (f) => f.blocked, 5_000).catch(() => t.note("no block event reached the open socket"));
    // Lifting the other member's block from the blocked side.
    await alice.browser.get(`/chat/${roomId}`);
    await alice.browser.post(`/chat/${roomId}/unblock`, {});

    const sockets = [
      early,
      ...(await Promise.all(Array.from({ length: effort === "short" ? 2 : 4 }, () => chatSocket(alice.browser, roomId)))),
    ];
    const rounds = effort === "short" ? 1 : 5;
    for (let round = 0; round < rounds; round++) {
      for (const [i, socket] of sockets.entries()) {
        const tag = `${round}-${i}`;
        const writes: Array<Record<string, unknown>> = [
          { type: "send", clientId: `blocked-${tag}`, text: `sent while blocked ${tag}` },
          { type: "edit", seq: first, text: `edited while blocked ${tag}` },
          { type: "delete", seq: second },
        ];
        for (const frame of writes) {
          const code = await refusal(socket, frame);
          t.attempt(code === "blocked", `${String(frame.type)} on socket ${i} answered "${code || "nothing"}", not "blocked"`);
        }
      }
    }
    for (const socket of sockets) socket.ws.terminate();

    const stored = await roomHistory(bob.browser, roomId);
    const changed = stored.filter(
      (m) => m.clientId.startsWith("blocked-") || m.deleted || /while blocked/.test(m.text) || m.from !== alice.id,
    );
    t.attempt(changed.length === 0, `stored or changed while blocked: ${JSON.stringify(changed.map((m) => [m.seq, m.text]))}`);
    const room = await backstage.collection("rooms").findOne({ _id: roomId as never });
    t.attempt(
      (room?.blockedBy as unknown[] | undefined)?.map(String).includes(bob.id) === true,
      "the blocked member lifted the other's block",
    );
    return t.outcome;
  },
};
