/** Bounds how many of a kind of task run at once on an instance. */

/**
 * Runs at most `limit` tasks at once; the others wait their turn, first come first served.
 * A task's failure is its caller's; it frees its place either way.
 */
export function atMost(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  // A finished task hands its place to the first waiting one, or gives it up.
  const next = () => {
    const wake = waiting.shift();
    if (wake) wake();
    else running--;
  };
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      next();
    }
  };
}
