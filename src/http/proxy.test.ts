import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { directCaller, proxyMatcher } from "./proxy.js";

describe("trusted proxies", () => {
  const trusted = proxyMatcher(["127.0.0.1", "::1", "172.16.0.0/12"]);

  it("trusts listed addresses, ranges and IPv4-mapped IPv6 forms", () => {
    assert.equal(trusted("127.0.0.1"), true);
    assert.equal(trusted("::ffff:127.0.0.1"), true);
    assert.equal(trusted("::1"), true);
    assert.equal(trusted("172.20.3.4"), true);
  });

  it("trusts nobody else", () => {
    assert.equal(trusted("10.0.0.1"), false);
    assert.equal(trusted("172.32.0.1"), false);
    assert.equal(trusted(undefined), false);
  });

  it("refuses an entry that is not an address", () => {
    assert.throws(() => proxyMatcher(["nginx"]), /TRUSTED_PROXIES: nginx is not an IP address/);
  });
});

describe("who counts as a direct caller (and may see internal details)", () => {
  const direct = directCaller(["172.16.0.0/12"]);

  it("a process on this machine or on the proxies' network, asking for itself", () => {
    assert.equal(direct("127.0.0.1", undefined), true);
    assert.equal(direct("::ffff:127.0.0.1", undefined), true);
    assert.equal(direct("::1", undefined), true);
    assert.equal(direct("172.20.0.5", undefined), true);
  });

  it("not a request the proxy relays, whatever its client's address", () => {
    assert.equal(direct("172.20.0.5", "203.0.113.7"), false);
    assert.equal(direct("127.0.0.1", "127.0.0.1"), false);
  });

  it("not anyone else", () => {
    assert.equal(direct("10.0.0.1", undefined), false);
    assert.equal(direct("203.0.113.7", undefined), false);
    assert.equal(direct(undefined, undefined), false);
  });
});
