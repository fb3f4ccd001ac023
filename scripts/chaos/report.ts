/**
 * Figures from one chaos run, a row per fault (the messages typed while it was on, and until
 * the next one began):
 *   sent       messages typed
 *   acked      of those, acknowledged to the sender
 *   stored     of those, in MongoDB (not counting void markers)
 *   delivered  of those stored, delivered to every other tab in the room
 *   lost       a stored message some other tab never got (after its final catch-up), an acked
 *              message that is not stored, or a message never answered at all
 *   duplicated the same number delivered twice to one tab (across its reconnects), one message
 *              delivered or acknowledged under two numbers, or stored twice
 *   out of order  a number delivered after a higher one on the same tab (across its reconnects),
 *              or a sender's message stored with a lower number than one it typed before
 *   recover s  from the repair until every tab has been delivered a message typed after it
 */
import type { ChaosRun, Window } from "./scenario.js";

export type Row = {
  fault: string;
  sent: number;
  acked: number;
  stored: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  recoverSeconds: number | null;
  detail?: string;
};

function recoverySeconds(run: ChaosRun, window: Window): number | null {
  const repairedAt = window.repairedAt;
  if (repairedAt === undefined) return null;
  let worst = 0;
  for (const room of run.rooms) {
    const typedAt = new Map(room.tabs.flatMap((t) => t.typed.map((m) => [m.clientId, m.typedAt] as const)));
    for (const tab of room.tabs.filter((t) => t.createdAt <= repairedAt)) {
      const first = tab.deliveries.find((d) => d.at >= repairedAt && (typedAt.get(d.clientId) ?? 0) >= repairedAt);
      if (!first) return null;
      worst = Math.max(worst, first.at - repairedAt);
    }
  }
  return Math.round(worst / 100) / 10;
}

/** A fault's row before anything is counted. */
const emptyRow = (fault: string, recoverSeconds: number | null): Row => ({
  fault,
  sent: 0,
  acked: 0,
  stored: 0,
  delivered: 0,
  lost: 0,
  duplicated: 0,
  outOfOrder: 0,
  recoverSeconds,
});

export function countRun(run: ChaosRun): Row[] {
  const rows = new Map<string, Row>(
    run.windows.map((w) => [w.name, { ...emptyRow(w.name, recoverySeconds(run, w)), ...(w.detail ? { detail: w.detail } : {}) }]),
  );
  const rowOf = (window: string): Row => {
    let row = rows.get(window);
    if (!row) {
      row = emptyRow(window, null);
      rows.set(window, row);
    }
    return row;
  };

  for (const room of run.rooms) {
    const storedSeqs = new Map<string, number[]>();
    for (const doc of run.stored.filter((d) => d.roomId === room.roomId))
      storedSeqs.set(doc.clientId, [...(storedSeqs.get(doc.clientId) ?? []), doc.seq]);
    const windowOf = new Map(room.tabs.flatMap((t) => t.typed.map((m) => [m.clientId, m.window] as const)));

    for (const sender of room.tabs) {
      const receivers = room.tabs.filter((t) => t !== sender);
      let highestStored = 0;
      for (const message of sender.typed) {
        const row = rowOf(message.window);
        const seqs = storedSeqs.get(message.clientId) ?? [];
        row.sent++;
        if (message.ack) row.acked++;
        row.duplicated += Math.max(0, seqs.length - 1) + new Set(message.otherAcks).size;
        if (seqs.length === 0) {
          // Acked but not stored, or never answered (the tab still holds it): lost either way.
          row.lost++;
          continue;
        }
        row.stored++;
        const seq = Math.min(...seqs);
        if (message.ack && message.ack.seq !== seq) row.duplicated++;
        if (seq < highestStored) row.outOfOrder++;
        highestStored = Math.max(highestStored, seq);
        const missing = receivers.filter((r) => !r.deliveries.some((d) => d.clientId === message.clientId)).length;
        row.lost += missing;
        if (missing === 0) row.delivered++;
      }
    }

    for (const receiver of room.tabs) {
      const own = new Set(receiver.typed.map((m) => m.clientId));
      const seqOf = new Map<string, number>();
      const seen = new Set<number>();
      let highest = 0;
      for (const delivery of receiver.deliveries) {
        // A tab's own message coming back (another instance's late publish) is the same message.
        if (own.has(delivery.clientId)) continue;
        const row = rowOf(windowOf.get(delivery.clientId) ?? "unknown");
        const numbered = seqOf.get(delivery.clientId);
        if (seen.has(delivery.seq) || (numbered !== undefined && numbered !== delivery.seq)) row.duplicated++;
        if (delivery.seq < highest) row.outOfOrder++;
        seen.add(delivery.seq);
        seqOf.set(delivery.clientId, delivery.seq);
        highest = Math.max(highest, delivery.seq);
      }
    }
  }
  return [...rows.values()];
}

const COLUMNS: Array<[string, (r: Row) => string, number]> = [
  ["fault", (r) => r.fault, 28],
  ["sent", (r) => String(r.sent), 6],
  ["acked", (r) => String(r.acked), 6],
  ["stored", (r) => String(r.stored), 7],
  ["delivered", (r) => String(r.delivered), 10],
  ["lost", (r) => String(r.lost), 5],
  ["duplicated", (r) => String(r.duplicated), 11],
  ["out of order", (r) => String(r.outOfOrder), 13],
  ["recover s", (r) => (r.recoverSeconds === null ? "-" : r.recoverSeconds.toFixed(1)), 10],
];

/** The rows as a fixed-width table, with each fault's notes below it. */
export function formatTable(rows: Row[]): string {
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i]?.[2] ?? 0) : c.padStart(COLUMNS[i]?.[2] ?? 0))).join(" ");
  const head = line(COLUMNS.map(([name]) => name));
  const body = rows.map((r) => line(COLUMNS.map(([, cell]) => cell(r))));
  const notes = rows.filter((r) => r.detail).map((r) => `  ${r.fault}: ${r.detail}`);
  return [head, "-".repeat(head.length), ...body, ...(notes.length ? ["", ...notes] : [])].join("\n");
}

/** Whether every row reads 0 lost, 0 duplicated, 0 out of order, and every message was answered. */
export function clean(rows: Row[]): boolean {
  return rows.every((r) => r.lost === 0 && r.duplicated === 0 && r.outOfOrder === 0 && r.acked === r.sent);
}
