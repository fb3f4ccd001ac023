import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectionText } from "./connection-banner.js";

describe("the connection banner", () => {
  it("says nothing while live and counts down to the next attempt while reconnecting", () => {
    assert.equal(connectionText("live", {}, 3, 0), "");
    assert.equal(connectionText("reconnecting", { retryAt: 4_200 }, 0, 1_000), "Connection lost. Reconnecting in 4 s…");
    assert.equal(connectionText("reconnecting", { retryAt: 4_200 }, 0, 5_000), "Reconnecting…");
  });

  it("says how many typed messages are waiting while not connected", () => {
    assert.equal(
      connectionText("offline", {}, 1, 0),
      "You're offline. Messages you write are kept and go when you're back. 1 message is waiting to be sent.",
    );
    assert.equal(connectionText("reconnecting", {}, 2, 0), "Reconnecting… 2 messages are waiting to be sent.");
  });

  it("says why when the server ended the connection", () => {
    assert.equal(connectionText("offline", { detail: "You were signed out." }, 2, 0), "You were signed out.");
  });
});
