import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import type { ClientFrame } from "../chat/protocol.js";
import { createOutbox } from "./outbox.js";
import { createOutboxSender } from "./outbox-sender.js";

// The page's timers are the window's; in Node they are the same functions (mocked below). There is
// no localStorage here: the outbox keeps its queue in memory, as it does when storage is disabled.
Object.assign(globalThis, { window: globalThis });

function sending() {
  const sent: string[] = [];
  const notes: string[] = [];
  let resends = 0;
  const sender = createOutboxSender({
    outbox: createOutbox("room"),
    send(frame: ClientFrame) {
      if (frame.type === "send") sent.push(frame.clientId);
      return true;
    },
    resendOthers: () => void resends++,
    note: (text) => void notes.push(text),
  });
  const add = (clientId: string) => sender.add({ clientId, text: clientId, at: "2026-12-07T00:00:00.000Z" });
  return { sender, sent, notes, add, resends: () => resends };
}

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"] }));
afterEach(() => mock.timers.reset());

describe("sending the outbox", () => {
  it("sends a typed message at once, and the whole queue again, oldest first, when the socket is ready", () => {
    const { sender, sent, add, resends } = sending();
    add("a");
    add("b");
    assert.deepEqual(sent, ["a", "b"]);
    sender.flush();
    assert.deepEqual(sent, ["a", "b", "a", "b"]);
    assert.equal(resends(), 1, "files go again too");
  });

  it("after a refusal with a wait sends nothing until the wait is over, then the whole queue in order", () => {
    const { sender, sent, notes, add } = sending();
    add("a");
    sender.holdBack(3_000, "Slow down a little.");
    assert.deepEqual(notes, ["Slow down a little."]);
    add("b");
    assert.deepEqual(sent, ["a"], "a message typed while held back waits its turn");
    mock.timers.tick(2_999);
    assert.deepEqual(sent, ["a"]);
    mock.timers.tick(1);
    assert.deepEqual(sent, ["a", "a", "b"]);
    assert.equal(sender.acked("a")?.text, "a");
    assert.deepEqual(notes, ["Slow down a little.", ""], "the note goes once a send is stored after the wait");
  });

  it("leaves a message refused for good out until the person retries it", () => {
    const { sender, sent, add } = sending();
    add("a");
    add("b");
    assert.equal(sender.failed("a", "Too long.")?.failed, "Too long.");
    sender.flush();
    assert.deepEqual(sent, ["a", "b", "b"]);
    sender.retry("a");
    assert.deepEqual(sent, ["a", "b", "b", "a", "b"]);
  });
});
