/**
 * Master-key rotation: every room key wrapped by an older master key is unwrapped and wrapped
 * again by the newest one (each version of it, after re-keying). Messages are not touched (they
 * are sealed with the room keys, which do not change here), so rotation is quick and safe to
 * interrupt and run again. Room re-keying (new room keys for new messages) is room-rekey.ts.
 */
import { unwrapDataKey, wrapDataKey, type MasterKey } from "./cipher.js";
import { RoomModel } from "./room.model.js";
import { wrappedVersions } from "./rooms.js";

export type RotationReport = { rewrapped: number; alreadyCurrent: number; failed: Array<{ roomId: string; reason: string }> };

export async function rewrapRoomKeys(masters: readonly MasterKey[]): Promise<RotationReport> {
  const [newest] = masters;
  if (!newest) throw new Error("no master key configured");
  const report: RotationReport = { rewrapped: 0, alreadyCurrent: 0, failed: [] };
  const rooms = RoomModel.find({ deletedAt: { $exists: false } }, { key: 1, keyId: 1, keys: 1 });
  for await (const room of rooms.lean().cursor()) {
    const versions = wrappedVersions(room);
    if (versions.length === 0) {
      report.failed.push({ roomId: room._id, reason: "the room key was deleted" });
      continue;
    }
    if (versions.every((v) => v.wrapped.masterKeyId === newest.id)) {
      report.alreadyCurrent++;
      continue;
    }
    try {
      const [first, ...added] = versions.map((v) => ({
        keyId: v.keyId,
        key:
          v.wrapped.masterKeyId === newest.id
            ? v.wrapped
            : wrapDataKey(newest, room._id, unwrapDataKey(masters, room._id, v.wrapped)),
      }));
      // Conditional on the wraps and versions read, so a room rotated or re-keyed meanwhile by
      // another run is left for the next run rather than overwritten.
      const result = await RoomModel.updateOne(
        {
          _id: room._id,
          "key.masterKeyId": room.key.masterKeyId,
          keys: added.length === 0 ? { $exists: false } : { $size: added.length },
        },
        { $set: { key: first?.key, ...(added.length > 0 ? { keys: added } : {}) } },
      );
      if (result.modifiedCount === 1) report.rewrapped++;
      else report.alreadyCurrent++;
    } catch (err) {
      report.failed.push({ roomId: room._id, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return report;
}
