/** What every attack is and answers: how often it tried, and how often Duet let it through. */
import type { Backstage } from "./backstage.js";

/** How hard to try: `short` for the test inside `npm test`, `full` for `scripts/attack/run`. */
export type Effort = "short" | "full";

export type Outcome = {
  attempts: number;
  /** Attempts Duet should have refused and did not. Anything but 0 is a hole (or a harness bug). */
  letThrough: number;
  /** One line per thing worth reading: what was let through, or what was measured. */
  notes: string[];
};

export type AttackContext = { effort: Effort; backstage: Backstage; log(line: string): void };

export type Attack = {
  /** A short name for the table, e.g. "pre-sign-up takeover". */
  name: string;
  run(context: AttackContext): Promise<Outcome>;
};

/** Counts attempts and what got through, with a note for each thing let through. */
export function tally() {
  const outcome: Outcome = { attempts: 0, letThrough: 0, notes: [] };
  return {
    outcome,
    /** Records one attempt; `held` false means Duet let it through, `what` says how. */
    attempt(held: boolean, what: string): void {
      outcome.attempts++;
      if (!held) {
        outcome.letThrough++;
        if (outcome.notes.length < 20) outcome.notes.push(what);
      }
    },
    note(line: string): void {
      outcome.notes.push(line);
    },
  };
}
