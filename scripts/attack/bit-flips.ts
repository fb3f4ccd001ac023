/**
 * One flipped bit in a stored value, as a failing disk or a cosmic ray would leave it: the value
 * keeps its BSON type (an int32 stays an int32, a date a date), only its bits change.
 */
import { randomInt } from "node:crypto";
import mongoose from "mongoose";

type Bsonish = number | Date | string | Uint8Array | mongoose.mongo.Binary | mongoose.mongo.ObjectId;

const INT32 = (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31;
// Dates outside ±8.64e15 ms cannot be written through the driver, so flips stay below bit 53.
const DATE_BITS = 53;

/** How many bits `value` has that a flip may touch. */
export function bitsOf(value: Bsonish): number {
  if (typeof value === "number") return INT32(value) ? 32 : 64;
  if (value instanceof Date) return DATE_BITS;
  if (typeof value === "string") return value.length * 7;
  if (value instanceof mongoose.mongo.ObjectId) return 96;
  return (value instanceof mongoose.mongo.Binary ? value.buffer : value).length * 8;
}

/** `value` with bit `bit` flipped (counted from the lowest bit of the last byte, strings by 7-bit character). */
export function flipBit(value: Bsonish, bit = randomInt(0, bitsOf(value))): Bsonish {
  if (typeof value === "number") {
    if (INT32(value)) return (value ^ (1 << bit)) | 0;
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value);
    view.setUint8(7 - Math.floor(bit / 8), view.getUint8(7 - Math.floor(bit / 8)) ^ (1 << (bit % 8)));
    return view.getFloat64(0);
  }
  if (value instanceof Date) return new Date(Number(BigInt(value.getTime()) ^ (1n << BigInt(bit))));
  if (typeof value === "string") {
    const at = Math.floor(bit / 7);
    const code = (value.charCodeAt(at) ^ (1 << (bit % 7))) & 0x7f;
    return value.slice(0, at) + String.fromCharCode(code) + value.slice(at + 1);
  }
  if (value instanceof mongoose.mongo.ObjectId) {
    return new mongoose.mongo.ObjectId(Buffer.from(flipBytes(value.id, bit)));
  }
  return Buffer.from(flipBytes(value instanceof mongoose.mongo.Binary ? value.buffer : value, bit));
}

function flipBytes(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const at = copy.length - 1 - Math.floor(bit / 8);
  copy[at] = (copy[at] ?? 0) ^ (1 << (bit % 8));
  return copy;
}
