/**
 * Issue #12's attacks, short version, against the running stack through nginx: each must be let
 * through 0 times. `scripts/attack/run` runs them longer and prints the table.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ATTACKS } from "./attacks/index.js";
import { openBackstage, type Backstage } from "./backstage.js";

describe("attacks on the running stack, through nginx", () => {
  let backstage: Backstage;
  before(async () => (backstage = await openBackstage()));
  after(() => backstage.close());

  for (const attack of ATTACKS) {
    it(`${attack.name}: nothing let through`, async () => {
      const outcome = await attack.run({ effort: "short", backstage, log: () => {} });
      assert.ok(outcome.attempts > 0, "the attack made no attempt");
      assert.equal(outcome.letThrough, 0, outcome.notes.join("\n"));
    });
  }
});
