// Preloaded (node --expose-gc --import) into the benchmark's own extra app instance only, never
// into the stack's: answers "heap" on the IPC channel with process.memoryUsage() after a full GC.
// The app itself has no debug endpoint for this.
if (process.send) {
  process.on("message", (message) => {
    if (message !== "heap") return;
    globalThis.gc?.();
    globalThis.gc?.();
    const { heapUsed, heapTotal, rss, external, arrayBuffers } = process.memoryUsage();
    process.send?.({ heapUsed, heapTotal, rss, external, arrayBuffers });
  });
  process.channel?.unref();
}
