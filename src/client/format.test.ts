import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dayLabel, lastSeenLabel, lengthLabel, linkify, listTimeLabel, newClientId } from "./format.js";

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

  it("labels list times in local time, relative to now", () => {
    const now = new Date(2026, 11, 7, 10, 0); // a Monday
    assert.equal(listTimeLabel(new Date(2026, 11, 7, 9, 5), now, "en-GB"), "09:05");
    assert.equal(listTimeLabel(new Date(2026, 11, 6, 21, 20), now, "en-GB"), "Yesterday");
    assert.equal(listTimeLabel(new Date(2026, 11, 6, 0, 1), now, "en-GB"), "Yesterday");
    assert.equal(listTimeLabel(new Date(2026, 11, 5, 23, 59), now, "en-GB"), "Sat");
    assert.equal(listTimeLabel(new Date(2026, 11, 1, 12), now, "en-GB"), "Tue");
    assert.equal(listTimeLabel(new Date(2026, 10, 30, 12), now, "en-GB"), "30 Nov");
    assert.equal(listTimeLabel(new Date(2025, 10, 30, 12), now, "en-GB"), "30 Nov 2025");
  });

  it("counts characters only near the limit", () => {
    assert.equal(lengthLabel(3599, 4000), "");
    assert.equal(lengthLabel(3600, 4000), "3,600 / 4,000");
    assert.equal(lengthLabel(4000, 4000), "4,000 / 4,000");
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
