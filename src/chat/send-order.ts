/**
 * The order of one socket's sends (docs/decisions/001): they are handled one after another, and
 * once one is refused with a wait (send limit, store unavailable), every later one is refused as
 * out of order until the refused one comes again. The page resends its whole queue, oldest
 * first, after the wait, so a person's messages keep the order they were typed in. Plain state:
 * unit-tested.
 */

/** Runs tasks one after another, each once the one before has settled (whichever way). */
export function oneAtATime(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const done = tail.then(task);
    tail = done.catch(() => undefined);
    return done;
  };
}

export type SendOrder = ReturnType<typeof createSendOrder>;

export function createSendOrder() {
  /** The client id of the send refused with a wait; undefined while nothing is held back. */
  let refusedFrom: string | undefined;
  return {
    /** Whether send `clientId` must wait: an earlier one was refused and has not come again. */
    mustWait: (clientId: string): boolean => refusedFrom !== undefined && refusedFrom !== clientId,
    /** Send `clientId` was refused with a wait: the sends after it wait for it. */
    refused(clientId: string): void {
      refusedFrom ??= clientId;
    },
    /** Send `clientId` was stored: if it was the one held back, the sends after it may go. */
    stored(clientId: string): void {
      if (refusedFrom === clientId) refusedFrom = undefined;
    },
  };
}
