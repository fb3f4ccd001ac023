import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dayLabel, lastSeenLabel, linkify, newClientId } from "./format.js";

describe("chat text formatting", () => {
  it("turns only http(s) URLs into links, leaving trailing punctuation outside", () => {
    assert.deepEqual(linkify("see https://example.com/a?b=1, then http://x.test."), [
      { text: "see " },
      { text: "https://example.com/a?b=1", href: "https://example.com/a?b=1" },
      { text: ", then " },
      { text: "http://x.test", href: "http://x.test" },
      { text: "." },
    ]);
    assert.deepEqual(linkify("javascript:alert(1) <b>x</b>"), [{ text: "javascript:alert(1) <b>x</b>" }]);
    assert.deepEqual(linkify('https://a.test/"onmouseover="x'), [
      { text: "https://a.test/", href: "https://a.test/" },
      { text: '"onmouseover="x' },
    ]);
  });

  it("labels days relative to today", () => {
    const now = new Date(2026, 10, 22, 12);
    assert.equal(dayLabel(new Date(2026, 10, 22, 1), now), "Today");
    assert.equal(dayLabel(new Date(2026, 10, 21, 23), now), "Yesterday");
    assert.match(dayLabel(new Date(2026, 10, 2), now, "en-GB"), /2 November/);
  });

  it("says how long ago someone was seen", () => {
    const now = new Date("2026-11-22T12:00:00Z");
    assert.equal(lastSeenLabel("2026-11-22T11:55:00Z", now), "last seen 5 minutes ago");
    assert.equal(lastSeenLabel("2026-11-22T09:00:00Z", now), "last seen 3 hours ago");
    assert.equal(lastSeenLabel(null, now), "offline");
  });

  it("client ids are random and protocol-safe", () => {
    const ids = new Set(Array.from({ length: 100 }, newClientId));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^[0-9a-f]{24}$/);
  });
});
