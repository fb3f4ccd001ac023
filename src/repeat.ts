/** Background work an instance repeats on a timer, never two runs of it at once. */

/**
 * Runs `task` every `everyMs` (the first time after `everyMs`), skipping a tick while the last
 * run is still going; a failed run is reported to `onError` and tried again at the next tick.
 * Returns the stop function. The timer does not keep the process alive.
 */
export function repeatEvery(everyMs: number, task: () => Promise<void>, onError: (err: unknown) => void): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await task();
    } catch (err) {
      onError(err);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
