/**
 * Master-key rotation: every room key wrapped by an older master key is unwrapped and wrapped
 * again by the newest one. Messages are not touched (they are sealed with the room keys, which
 * do not change), so rotation is quick and safe to interrupt and run again.
 */
import { unwrapDataKey, wrapDataKey, type MasterKey } from "./cipher.js";
import { RoomModel } from "./room.model.js";
import { bytes } from "./rooms.js";

export type RotationReport = { rewrapped: number; alreadyCurrent: number; failed: Array<{ roomId: string; reason: string }> };

export async function rewrapRoomKeys(masters: readonly MasterKey[]): Promise<RotationReport> {
  const [newest] = masters;
  if (!newest) throw new Error("no master key configured");
  const report: RotationReport = { rewrapped: 0, alreadyCurrent: 0, failed: [] };
  for await (const room of RoomModel.find({}, { key: 1 }).lean().cursor()) {
    if (!room.key) {
      report.failed.push({ roomId: room._id, reason: "the room key was deleted" });
      continue;
    }
    if (room.key.masterKeyId === newest.id) {
      report.alreadyCurrent++;
      continue;
    }
    try {
      const wrapped = {
        masterKeyId: room.key.masterKeyId,
        iv: bytes(room.key.iv),
        tag: bytes(room.key.tag),
        wrapped: bytes(room.key.wrapped),
      };
      const dataKey = unwrapDataKey(masters, room._id, wrapped);
      // Conditional on the old wrap, so a room rotated meanwhile by another run is left alone.
      const result = await RoomModel.updateOne(
        { _id: room._id, "key.masterKeyId": room.key.masterKeyId },
        { $set: { key: wrapDataKey(newest, room._id, dataKey) } },
      );
      if (result.modifiedCount === 1) report.rewrapped++;
      else report.alreadyCurrent++;
    } catch (err) {
      report.failed.push({ roomId: room._id, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return report;
}
