/**
 * Sends the outbox (outbox.ts) over the socket. A typed message goes at once; on `ready` the whole
 * queue goes again, oldest first, with the same client ids (the server stores each once). After
 * the server refuses a send with a wait (too fast, or storage down) nothing is sent until the wait
 * is over; then the whole queue goes again, so messages keep the order they were typed in.
 */
import type { ClientFrame } from "../chat/protocol.js";
import type { Outbox, Outgoing } from "./outbox.js";

export type OutboxSender = ReturnType<typeof createOutboxSender>;

export function createOutboxSender(deps: {
  outbox: Outbox;
  /** Sends a frame if the socket is live; false if it is not. */
  send(frame: ClientFrame): boolean;
  /** Sends the page's other queue again (files: attachment-composer.ts). */
  resendOthers(): void;
  /** The line under the composer ("" hides it). */
  note(text: string): void;
}) {
  const { outbox } = deps;
  let holdUntil = 0;
  let flushTimer: number | undefined;

  const canSend = (): boolean => Date.now() >= holdUntil;
  const sendItem = (item: Outgoing): void =>
    void deps.send({
      type: "send",
      clientId: item.clientId,
      text: item.text,
      ...(item.replyTo ? { replyTo: item.replyTo.seq } : {}),
    });

  function flush(): void {
    const wait = holdUntil - Date.now();
    if (wait > 0) {
      window.clearTimeout(flushTimer);
      flushTimer = window.setTimeout(flush, wait);
      return;
    }
    for (const item of outbox.all()) if (!item.failed) sendItem(item);
    deps.resendOthers();
  }

  return {
    /** Whether sends may go now (not held back after a refusal). */
    canSend,
    /** Sends every queued message again, now or once the wait is over. */
    flush,
    /** A message just typed: kept, and sent now unless sends are held back. */
    add(item: Outgoing): void {
      outbox.add(item);
      if (canSend()) sendItem(item);
    },
    /** The server stored `clientId`: out of the queue; answers what it was. */
    acked(clientId: string): Outgoing | undefined {
      const pending = outbox.all().find((o) => o.clientId === clientId);
      outbox.remove(clientId);
      if (canSend()) deps.note("");
      return pending;
    },
    /** The server asked to wait `ms` before sending again; `message` says why ("" for nothing). */
    holdBack(ms: number, message: string): void {
      holdUntil = Math.max(holdUntil, Date.now() + ms);
      if (message) deps.note(message);
      flush();
    },
    /** The server refused `clientId` for good: kept, marked failed; answers what it was. */
    failed(clientId: string, reason: string): Outgoing | undefined {
      outbox.fail(clientId, reason);
      return outbox.all().find((o) => o.clientId === clientId);
    },
    /** The person asked to send a failed message again. */
    retry(clientId: string): void {
      outbox.retry(clientId);
      flush();
    },
    stop: (): void => window.clearTimeout(flushTimer),
  };
}
