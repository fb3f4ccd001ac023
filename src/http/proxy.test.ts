import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { proxyMatcher } from "./proxy.js";

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
