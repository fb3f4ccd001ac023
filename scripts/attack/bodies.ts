/**
 * Generated request bodies and queries for the form fuzzer (fast-check): each field of a route
 * gets a plausible value, a hostile one (control characters, very long, unicode with lone
 * surrogates, arrays, nested objects, numbers, null, prototype keys) or nothing, and the body is
 * encoded as a form (duplicate keys and qs brackets included), as JSON (duplicate keys
 * included), as something else entirely, or not at all. Encoders write the wire text by hand:
 * URLSearchParams and JSON.stringify cannot say `a=1&a=2` or `{"a":1,"a":2}`.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import type { FieldKind } from "./routes.js";

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Body = { contentType?: string; data?: string | Buffer; label: string };
/** What a field is sent with; `undefined` leaves it out. */
export type Fields = Array<[key: string, value: Value]>;

/** The account's own values, for plausible fields; the fuzzer keeps them current. */
export type Known = { email: string; password: string };

// Strings chosen to break things that handle input carelessly. None contains a word the leak
// check looks for, so an echo of one is never mistaken for a leak.
const SPECIAL = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "line\r\nbreak",
  "tab\there",
  "\u007f\u0085\u2028\u2029",
  "\u202egnp.exe",
  "\ufeffbom",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  '{"$gt":""}',
  "../../etc/passwd",
  "%00",
  "%zz",
  "${7*7}",
  "{{7*7}}",
  "{{#each this}}{{/each}}",
  "__proto__",
  "constructor",
  "@",
  "a@",
  "@b",
  "a@b",
  "a@b.c",
  "a@@example.test",
  `${"x".repeat(250)}@example.test`,
  "ÄÖÜ@exämple.test",
  "😀@example.test",
  "0",
  "-1",
  "1e999",
  "9007199254740993",
  "true",
  "/\\evil.example",
  "//evil.example",
  "https://evil.example/",
  "javascript:alert(1)",
];

const hostileString = fc.oneof(
  fc.constantFrom(...SPECIAL),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.string({
    unit: fc.constantFrom("\u0000", "\u0001", "\u001f", "\n", "\r", "\t", "\u007f", "a", "é", "\ud800", "\udfff"),
    maxLength: 30,
  }),
  fc.constantFrom(300, 3_000, 40_000).map((n) => "a".repeat(n)),
);

const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "$where", "$gt", "_csrf", "", "a.b", "0"),
  fc.string({ maxLength: 8 }),
);

const { value: hostileValue } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(hostileKey, tie("value"), { maxKeys: 3 }),
  ),
}));

/** A value the field would accept, or nearly. */
function plausible(kind: FieldKind, known: Known): fc.Arbitrary<Value> {
  switch (kind) {
    case "email":
      return fc.constantFrom(
        known.email,
        known.email.toUpperCase(),
        ` ${known.email} `,
        `fuzz-${randomBytes(4).toString("hex")}@example.test`,
      );
    case "name":
      return fc.constantFrom("Fuzz Tester", "Zoë", "x".repeat(50), "x".repeat(51));
    case "status":
      return fc.constantFrom("", "busy", "x".repeat(140), "x".repeat(141));
    case "password":
      return fc.constantFrom(known.password, `${known.password} `, "wrong password here");
    case "wrongPassword":
      return fc.constantFrom("wrong password here", `${known.password}x`, "");
    case "newPassword":
      return fc.constantFrom(`harbor lantern ${randomBytes(3).toString("hex")}`, "password1234", "short");
    case "code":
      return fc.constantFrom("000000", "12 34 56", "1234567", "abcdef");
    case "token":
      return fc.constantFrom(randomBytes(32).toString("base64url"), "x".repeat(101));
    case "next":
      return fc.constantFrom("/chat", "//evil.example", "https://evil.example", "/\\evil.example");
    case "number":
      return fc.constantFrom("1", "50", "100", "101", "0", "-1", "1.5", "1e3", "0x10", "9007199254740993", " 5", "NaN");
    case "flag":
      return fc.constantFrom("1", "0", "true");
    case "text":
      return fc.constantFrom("hello", "x".repeat(1000));
  }
}

/** Each field plausible, hostile or left out; sometimes extra hostile keys. */
export function fieldsFor(spec: Record<string, FieldKind>, known: Known): fc.Arbitrary<Fields> {
  const entries = Object.entries(spec).map(([key, kind]) =>
    fc.oneof(
      { weight: 3, arbitrary: plausible(kind, known).map((v): Fields => [[key, v]]) },
      { weight: 4, arbitrary: hostileValue.map((v): Fields => [[key, v]]) },
      { weight: 1, arbitrary: fc.constant<Fields>([]) },
      // The same key twice, as a form can send it.
      {
        weight: 1,
        arbitrary: fc.tuple(plausible(kind, known), hostileValue).map(([a, b]): Fields => [
          [key, a],
          [key, b],
        ]),
      },
    ),
  );
  const extra = fc.array(fc.tuple(hostileKey, hostileValue), { maxLength: 2 });
  return fc.tuple(fc.tuple(...entries), extra).map(([fields, more]) => [...fields.flat(), ...more]);
}

// Percent-encoding of the UTF-8 bytes (a lone surrogate becomes U+FFFD, as a browser sends it);
// encodeURIComponent throws on lone surrogates.
const pct = (s: string) =>
  [...Buffer.from(s, "utf8")]
    .map((b) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");

/** qs-style pairs: arrays as repeated keys or `key[]`, objects as `key[sub]`. */
function pairs(key: string, value: Value, brackets: boolean): Array<[string, string]> {
  if (value === null) return [[key, ""]];
  if (Array.isArray(value)) return value.flatMap((v, i) => pairs(brackets ? `${key}[${i}]` : key, v, brackets));
  if (typeof value === "object") return Object.entries(value).flatMap(([k, v]) => pairs(`${key}[${k}]`, v, brackets));
  return [[key, String(value)]];
}

export function formText(fields: Fields, brackets = false): string {
  return fields.flatMap(([k, v]) => pairs(k, v, brackets).map(([a, b]) => `${pct(a)}=${pct(b)}`)).join("&");
}

const jsonText = (value: Value): string =>
  Array.isArray(value)
    ? `[${value.map(jsonText).join(",")}]`
    : value !== null && typeof value === "object"
      ? `{${Object.entries(value)
          .map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`)
          .join(",")}}`
      : (JSON.stringify(value) ?? "null");

/** A JSON object with `fields` in order: a repeated key is written twice. */
export const jsonObject = (fields: Fields) => `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(",")}}`;

/** The body for `fields`, in one of the ways a client might send it. */
export function encodings(fields: Fields): fc.Arbitrary<Body> {
  const form = "application/x-www-form-urlencoded";
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant<Body>({ label: "form", contentType: form, data: formText(fields) }) },
    { weight: 2, arbitrary: fc.constant<Body>({ label: "form with brackets", contentType: form, data: formText(fields, true) }) },
    { weight: 3, arbitrary: fc.constant<Body>({ label: "JSON", contentType: "application/json", data: jsonObject(fields) }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<Body>(
        { label: "JSON array", contentType: "application/json", data: `[${jsonObject(fields)}]` },
        { label: "JSON string", contentType: "application/json", data: JSON.stringify(formText(fields)) },
        { label: "truncated JSON", contentType: "application/json", data: jsonObject(fields).slice(0, -1) },
        { label: "JSON null", contentType: "application/json", data: "null" },
        { label: "deep JSON", contentType: "application/json", data: `${'{"a":'.repeat(3000)}1${"}".repeat(3000)}` },
        { label: "form, latin1", contentType: `${form}; charset=latin1`, data: formText(fields) },
        {
          label: "form, invalid UTF-8",
          contentType: form,
          data: Buffer.concat([Buffer.from(`${formText(fields)}&x=`), Buffer.from([0xc3, 0x28, 0xff])]),
        },
        { label: "form, bad escapes", contentType: form, data: `${formText(fields)}&%=%&%zz=%E0%A4%A` },
        { label: "form, 40 kB", contentType: form, data: `${formText(fields)}&pad=${"a".repeat(40_000)}` },
        { label: "deep form", contentType: form, data: `${"a".padEnd(3000, "[b]")}=1&${formText(fields)}` },
        { label: "text/plain", contentType: "text/plain", data: formText(fields) },
        { label: "XML", contentType: "application/xml", data: "<a>1</a>" },
        { label: "no body", contentType: undefined, data: undefined },
        { label: "empty JSON", contentType: "application/json", data: "" },
      ),
    },
  );
}
