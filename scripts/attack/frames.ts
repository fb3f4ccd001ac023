/**
 * Generated chat frames for fuzzing the socket (fast-check): near-valid frames with one thing
 * wrong, JSON of the wrong shape, truncated JSON, prototype-pollution keys, numbers no JSON
 * encoder writes (1e999), oversized and binary frames, invalid UTF-8. Each carries a marker in
 * its text, so anything stored from it can be traced. `isValidFrame` is the protocol as written
 * down (src/chat/protocol.ts's header and the README), kept apart from the server's parser so it
 * can disagree with it.
 */
import fc from "fast-check";

export const MAX_MESSAGE_LENGTH = 4000;
export const MAX_FRAME_BYTES = MAX_MESSAGE_LENGTH * 4 + 1024;

export type FuzzFrame = {
  label: string;
  data: string | Buffer;
  /** Sent as a binary frame (a Buffer with `binary` false is a text frame of raw bytes). */
  binary: boolean;
  marker: string;
};

/** Frame targets: one of the fuzzer's own messages to edit, another to delete, a read position. */
export type Targets = { editSeq: number; deleteSeq: number; readSeq: number };

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const isSeq = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
// Duet counts a message's length in code points (an emoji is one), as zod's max() does.
const isText = (v: unknown) => typeof v === "string" && [...v].length <= MAX_MESSAGE_LENGTH && v.trim().length > 0;
const FIELDS: Record<string, string[]> = {
  send: ["type", "clientId", "text"],
  edit: ["type", "seq", "text"],
  delete: ["type", "seq"],
  typing: ["type"],
  read: ["type", "seq"],
};

/** Whether the protocol allows `frame` (as sent on the wire). */
export function isValidFrame(frame: FuzzFrame): boolean {
  if (frame.binary || typeof frame.data !== "string" || Buffer.byteLength(frame.data) > MAX_FRAME_BYTES) return false;
  let value: unknown;
  try {
    value = JSON.parse(frame.data);
  } catch {
    return false;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  const fields = typeof v.type === "string" && Object.hasOwn(FIELDS, v.type) ? FIELDS[v.type] : undefined;
  const keys = Object.keys(v);
  if (!fields || keys.length !== fields.length || !keys.every((k) => fields.includes(k))) return false;
  switch (v.type) {
    case "send":
      return typeof v.clientId === "string" && CLIENT_ID.test(v.clientId) && isText(v.text);
    case "edit":
      return isSeq(v.seq) && isText(v.text);
    case "delete":
    case "read":
      return isSeq(v.seq);
    default:
      return true;
  }
}

// A frame is built as JSON text, entry by entry, so that keys such as __proto__ are sent as
// keys and numbers such as 1e999 as written: JSON.stringify can do neither.
type Entry = [key: string, rawJson: string];
const text = (entries: Entry[]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
const raw = (value: unknown) => JSON.stringify(value) ?? "null";

const WRONG_VALUES = [
  "null",
  "true",
  "[]",
  "{}",
  '"1"',
  "0",
  "-1",
  "-0",
  "1.5",
  "1e999",
  "-1e999",
  "1e-999",
  "9007199254740993",
  "99999999999999999999999",
  "1e308",
  '"NaN"',
  '"Infinity"',
  '{"$gt":0}',
  '{"__proto__":{"polluted":true}}',
  '["send"]',
];
const EXTRA_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", "Type", "seq", "text"];
const BAD_CLIENT_IDS = ["", "a".repeat(65), "a b", "é", "../x", "a\u0000b", "a\nb", "<script>", "\u202e", "id;drop"];
const BAD_TYPES = ["Send", "SEND", "send ", "", "message", "ack", "ready", "error", "__proto__", "constructor"];

const marked = (marker: string) =>
  fc.oneof(
    fc.constant(`${marker} fuzz`),
    fc.string({ unit: "binary", maxLength: 40 }).map((s) => `${marker} ${s}`),
    fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => `${s} ${marker}`),
  );

/** The valid frame that a near-valid one starts from, as entries. */
function baseFrame(targets: Targets, marker: string): fc.Arbitrary<Entry[]> {
  return fc.oneof(
    marked(marker).map((t): Entry[] => [
      ["type", '"send"'],
      ["clientId", raw(marker)],
      ["text", raw(t)],
    ]),
    marked(marker).map((t): Entry[] => [
      ["type", '"edit"'],
      ["seq", String(targets.editSeq)],
      ["text", raw(t)],
    ]),
    fc.constant<Entry[]>([
      ["type", '"delete"'],
      ["seq", String(targets.deleteSeq)],
    ]),
    fc.constant<Entry[]>([["type", '"typing"']]),
    fc.integer({ min: targets.readSeq + 1, max: targets.readSeq + 1000 }).map((seq): Entry[] => [
      ["type", '"read"'],
      ["seq", String(seq)],
    ]),
  );
}

/** One thing wrong with a valid frame. */
function mutated(targets: Targets, marker: string): fc.Arbitrary<{ label: string; json: string }> {
  return baseFrame(targets, marker).chain((entries) => {
    const type = JSON.parse(entries[0]?.[1] ?? '""') as string;
    const fields = entries.map(([k]) => k);
    return fc.oneof(
      fc
        .tuple(fc.constantFrom(...EXTRA_KEYS), fc.constantFrom(...WRONG_VALUES))
        .map(([key, value]) => ({ label: `${type} + ${key || "''"}`, json: text([...entries, [key, value]]) })),
      fc.tuple(fc.constantFrom(...fields), fc.constantFrom(...WRONG_VALUES)).map(([field, value]) => ({
        label: `${type}.${field} = ${value}`,
        json: text(entries.map(([k, v]) => [k, k === field ? value : v])),
      })),
      fc.constantFrom(...fields).map((field) => ({
        label: `${type} without ${field}`,
        json: text(entries.filter(([k]) => k !== field)),
      })),
      fc.constantFrom(...BAD_TYPES).map((bad) => ({
        label: `type ${JSON.stringify(bad)}`,
        json: text(entries.map(([k, v]) => [k, k === "type" ? raw(bad) : v])),
      })),
      // Duplicate keys: JSON.parse keeps the last one.
      fc.constantFrom(...BAD_TYPES, "typing").map((bad) => ({
        label: `${type} then type ${JSON.stringify(bad)}`,
        json: text([...entries, ["type", raw(bad)]]),
      })),
      ...(type === "send"
        ? [
            fc.constantFrom(...BAD_CLIENT_IDS).map((id) => ({
              label: `send.clientId ${JSON.stringify(id).slice(0, 20)}`,
              json: text(entries.map(([k, v]) => [k, k === "clientId" ? raw(id) : v])),
            })),
          ]
        : []),
      ...(type === "send" || type === "edit"
        ? [
            fc
              .constantFrom(
                "",
                " ",
                "\n\t ",
                "\u00a0\u2003",
                `${marker}${"x".repeat(MAX_MESSAGE_LENGTH)}`,
                `${marker}${"🙂".repeat(MAX_MESSAGE_LENGTH)}`,
              )
              .map((t) => ({
                label: `${type}.text of ${t.length} blank or too many characters`,
                json: text(entries.map(([k, v]) => [k, k === "text" ? raw(t) : v])),
              })),
          ]
        : []),
    );
  });
}

/** Any frame a hostile client might send; `marker` ties what it says to it. */
export function fuzzFrame(targets: Targets, marker: string): fc.Arbitrary<FuzzFrame> {
  const textFrame = (label: string, data: string): FuzzFrame => ({ label, data, binary: false, marker });
  const nearValid = mutated(targets, marker).map(({ label, json }) => textFrame(label, json));
  return fc.oneof(
    { weight: 6, arbitrary: nearValid },
    {
      weight: 1,
      arbitrary: nearValid.chain((f) =>
        fc
          .integer({ min: 1, max: Math.max(1, String(f.data).length - 1) })
          .map((cut) => textFrame(`truncated ${f.label}`, String(f.data).slice(0, cut))),
      ),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => textFrame("JSON of another shape", raw(v))) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }).map((s) => textFrame("not JSON", `${marker}${s}`)) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 100, max: 20_000 })
        .map((depth) => textFrame(`nested ${depth} deep`, `${"[".repeat(depth)}${"]".repeat(depth)}`)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES * 2, 1024 * 1024).map((size) =>
        textFrame(
          `${size} bytes`,
          text([
            ["type", '"send"'],
            ["clientId", raw(marker)],
            ["text", raw(marker.padEnd(size, "x"))],
          ]),
        ),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ label: "binary", data: Buffer.from(b), binary: true, marker })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(Buffer.from([0xff, 0xfe]), Buffer.from([0xc3, 0x28]), Buffer.from('{"type":"typing"}\xff', "latin1"))
        .map((b) => ({
          label: "invalid UTF-8 in a text frame",
          data: b,
          binary: false,
          marker,
        })),
    },
  );
}
