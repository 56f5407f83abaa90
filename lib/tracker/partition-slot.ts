/**
 * The `OffsetTracker`'s state per (topic, partition) ever seen, and its cold parts: checking a delivery that
 * starts a new epoch (or breaks the order), retiring an epoch, and the snapshots read from all slots. Apart
 * from `offset-tracker.ts` so that the tracker's file holds the per-record path (`deliver` / `finish`).
 */
import type { TrackedCommitOffset } from '../record/record'
import { EpochProgress, type PartitionProgress } from './partition-progress'

/** One per (topic, partition) ever seen: the owned epoch, and retired epochs whose records still run. */
export interface Slot {
  current: EpochProgress | undefined
  /** Highest epoch ever delivered here: a record of an epoch at or below it, not current, is stale. */
  lastEpoch: number
  retired: Map<number, EpochProgress> | undefined
}

/** The tracker's slots: topic, then an array indexed by partition. */
export type SlotsByTopic = Map<string, (Slot | undefined)[]>

/**
 * The epoch progress a delivery that missed the tracker's fast path goes to: a new epoch (the old one
 * retired) when `epoch` is newer than any seen, else the current one, once the record is checked to be next.
 *
 * ```text
 * slot: epoch 1 (tail 3)   deliver epoch 2 seq 0 -> new EpochProgress(2), epoch 1 retired
 *                          deliver epoch 1 seq 5 -> RangeError (expected seq 3)
 * ```
 *
 * @example
 * const p = epochToDeliver(slot, origin.epoch, origin.seq, offset, where)
 * p.deliver(offset, now, origin)
 *
 * @throws {RangeError} For a stale or unsafe epoch, a seq not next, an offset not beyond the last one.
 */
export function epochToDeliver(slot: Slot, epoch: number, seq: number, offset: number, where: () => string): EpochProgress {
  let p = slot.current
  if (p === undefined || p.epoch !== epoch) {
    if (!Number.isSafeInteger(epoch)) throw new RangeError(`${where()}: epoch must be a safe integer`)
    if (epoch <= slot.lastEpoch) {
      throw new RangeError(`${where()}: epoch ${epoch} is stale (latest epoch of this partition is ${slot.lastEpoch})`)
    }
    if (seq !== 0) throw new RangeError(`${where()}: the first record of a new epoch must have seq 0`)
    retire(slot)
    p = new EpochProgress(epoch)
    slot.current = p
    slot.lastEpoch = epoch
  } else {
    if (seq !== p.tail) throw new RangeError(`${where()}: expected seq ${p.tail}`)
    if (offset <= p.lastDelivered) {
      throw new RangeError(`${where()}: offset ${offset} is not beyond the last delivered ${p.lastDelivered}`)
    }
    if (offset < p.position) {
      throw new RangeError(`${where()}: offset ${offset} is below the advanced position ${p.position}`)
    }
  }
  return p
}

/**
 * The slot's partition is no longer owned: its epoch stops counting toward commits, and is kept (retired)
 * only while it has unfinished records.
 *
 * ```text
 * current: epoch 3 (2 unfinished)  ->  current: none, retired: { 3 }
 * ```
 *
 * @example
 * retire(slot)
 */
export function retire(slot: Slot): void {
  const p = slot.current
  if (p === undefined) return
  slot.current = undefined
  if (p.unfinished > 0) (slot.retired ??= new Map()).set(p.epoch, p)
}

/**
 * Checks the topic and partition of a first delivery to a partition (Kafka partitions are dense from 0,
 * int32, so an array indexed by partition stays small).
 *
 * @example
 * checkPartition('t', -1, where) // RangeError
 */
export function checkPartition(topic: unknown, partition: number, where: string): void {
  if (typeof topic !== 'string') throw new RangeError(`${where}: topic must be a string`)
  if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) {
    throw new RangeError(`${where}: partition must be a non-negative int32`)
  }
}

/**
 * Per owned partition whose committable offset is beyond the last committed one: that offset and its epoch;
 * with `mapFinished`, also the last committed offset again where records above it finished since the last
 * offset map was taken.
 *
 * ```text
 * t[0]: watermark 12, committed 10  ->  [{ topic: 't', partition: 0, offset: '12', epoch }]
 * ```
 *
 * @example
 * committableOf(slotsByTopic) // [] when nothing progressed
 */
export function committableOf(topics: SlotsByTopic, mapFinished = false): TrackedCommitOffset[] {
  const out: TrackedCommitOffset[] = []
  for (const [topic, slots] of topics) {
    for (let partition = 0; partition < slots.length; partition++) {
      const p = slots[partition]?.current
      if (p === undefined) continue
      if (p.watermark > p.committed) {
        out.push({ topic, partition, offset: String(p.watermark), epoch: p.epoch })
      } else if (mapFinished && p.finishedSinceMap > 0 && p.committed >= 0) {
        // The offset stays, the offset map in its metadata has news.
        out.push({ topic, partition, offset: String(p.committed), epoch: p.epoch })
      }
    }
  }
  return out
}

/**
 * A {@link PartitionProgress} snapshot per owned partition, ages measured at `now`.
 *
 * ```text
 * t[0]: 5 delivered, 3 finished, oldest unfinished at 100  --now 150-->  { inFlight: 2, oldestUnfinishedAgeMs: 50, ... }
 * ```
 *
 * @example
 * progressOf(slotsByTopic, Date.now())
 */
export function progressOf(topics: SlotsByTopic, now: number): PartitionProgress[] {
  const out: PartitionProgress[] = []
  for (const [topic, slots] of topics) {
    for (let partition = 0; partition < slots.length; partition++) {
      const p = slots[partition]?.current
      if (p === undefined) continue
      const oldest = p.oldestDeliveryTime()
      out.push({
        topic,
        partition,
        epoch: p.epoch,
        delivered: p.tail,
        finished: p.tail - p.unfinished,
        inFlight: p.unfinished,
        lastDeliveredOffset: p.lastDelivered < 0 ? undefined : String(p.lastDelivered),
        committable: p.watermark < 0 ? undefined : String(p.watermark),
        committed: p.committed < 0 ? undefined : String(p.committed),
        oldestUnfinishedAgeMs: oldest === undefined ? undefined : now - oldest,
        oldestUnfinished: p.oldestRecord(),
      })
    }
  }
  return out
}
