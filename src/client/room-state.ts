/**
 * The chat page's place in a room's numbered stream, as one state, free of the DOM so it can be
 * tested in Node: what the page has seen, where a reconnect resumes, what it told the server it
 * has read, and which slice of history is on screen.
 */

export type RoomPosition = ReturnType<typeof createRoomPosition>;

export function createRoomPosition() {
  /** The newest number the page knows of: a message received or one of our sends acknowledged. */
  let highest = 0;
  /**
   * Where a reconnect resumes: the newest number the server sent us as a message. Not our own
   * acks: a peer's message can be stored with a lower number than our send and still be on its
   * way from the other instance when our ack arrives; resuming after the ack would skip it.
   */
  let resumeFrom = 0;
  /** What the server has as read by us. */
  let readSent = 0;

  return {
    /** A message the server sent (live, or in a page of history that reaches the newest). */
    received(seq: number): void {
      highest = Math.max(highest, seq);
      resumeFrom = Math.max(resumeFrom, seq);
    },
    /** Our own message stored as `seq`. */
    acked(seq: number): void {
      highest = Math.max(highest, seq);
    },
    /** The server's record of what we have read (the socket's `ready`), or a read we sent. */
    readUpTo(seq: number): void {
      readSent = Math.max(readSent, seq);
    },
    /** The number to report as read now, if there is anything new to report. */
    toMarkRead(): number | undefined {
      return highest > readSent ? highest : undefined;
    },
    get highest() {
      return highest;
    },
    get resumeFrom() {
      return resumeFrom;
    },
    get readSent() {
      return readSent;
    },
  };
}

/**
 * Where `key` goes in `sorted` (ascending) so the order holds: after every equal key, so items
 * with the same key (messages still without a number) keep the order they were added in.
 * Binary search: placing a message costs O(log n), not a scan of the list.
 */
export function insertionIndex(sorted: readonly number[], key: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] ?? 0) <= key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * How many rendered messages to drop, and from which end, to keep at most `max` on screen.
 * Reading older history drops the newest (the page can load them back); at the live edge new
 * messages drop the oldest. Pending messages (no number yet) are never dropped.
 */
export function overflow(count: number, max: number, reading: "older" | "newest"): { dropOldest: number; dropNewest: number } {
  const extra = Math.max(0, count - max);
  return reading === "older" ? { dropOldest: 0, dropNewest: extra } : { dropOldest: extra, dropNewest: 0 };
}
