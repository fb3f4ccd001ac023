/**
 * Duet's public limits on chat, as numbers with no code behind them: the app enforces them, and
 * tools that drive Duet from outside (scripts/bench) size their load by them.
 */

/** Messages per user per window, across all their sockets and every instance. */
export const SEND_LIMIT = { points: 50, windowMs: 10_000 };

/** How many chat sockets one user may hold at once, across every instance. */
export const MAX_SOCKETS_PER_USER = 20;
