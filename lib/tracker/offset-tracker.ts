import type { RecordOrigin, TrackedCommitOffset } from '../record/record'
import { EpochProgress, offsetValue, parseOffset, type PartitionProgress } from './partition-progress'
import { trackerOptions, type OffsetTrackerOptions } from './options'
import { checkPartition, committableOf, epochToDeliver, progressOf, retire, type Slot } from './partition-slot'

export type { PartitionProgress } from './partition-progress'
export type { OffsetTrackerOptions } from './options'

/**
 * The one place that knows, per partition, what was delivered, what finished, and how far a commit may go.
 *
 * Pure and synchronous, O(1) amortised per record. The committable offset of a partition is just past the
 * longest prefix (in delivery order, `seq`) of finished records, so a commit never passes an unfinished
 * record whatever order work finishes in (invariant 1); offsets may have gaps, so it is the finished
 * record's offset + 1, or an `advance()` position the fetch reached with everything before it finished
 * (zero lag over compacted offsets and transaction markers). Each assignment epoch has its own progress:
 * records of a revoked or older epoch never count toward a commit (invariant 6), but they keep counting in
 * `inFlight` until they finish, so a `maxInFlight` budget holds across rebalances (invariant 5).
 *
 * ```text
 * deliver  seq: 0(o=10) 1(o=11) 2(o=14) 3(o=15)   advance(17)
 * finish        1 0                    3
 * committable   -  12                  12 (seq 2 unfinished)   finish 2 -> 17
 * ```
 *
 * @example
 * const tracker = new OffsetTracker()
 * tracker.deliver({ topic: 't', partition: 0, offset: '10', seq: 0, epoch: 1 })
 * tracker.deliver({ topic: 't', partition: 0, offset: '11', seq: 1, epoch: 1 })
 * tracker.finish({ topic: 't', partition: 0, offset: '11', seq: 1, epoch: 1 })
 * tracker.committable() // [] : offset 10 is still running
 * tracker.finish({ topic: 't', partition: 0, offset: '10', seq: 0, epoch: 1 })
 * tracker.committable() // [{ topic: 't', partition: 0, offset: '12', epoch: 1 }]
 */
export class OffsetTracker {
  readonly #now: () => number
  readonly #onRelease: ((inFlight: number, released: RecordOrigin) => void) | undefined
  readonly #mapFinished: boolean
  // Topic, then an array indexed by partition: no string key built per record on the hot path.
  readonly #topics = new Map<string, (Slot | undefined)[]>()
  // The last topic looked up and its slots: a pipeline's records mostly come one topic at a time. Topics are
  // never removed from #topics, so the cached array stays the topic's.
  #lastTopic: string | undefined
  #lastSlots: (Slot | undefined)[] | undefined
  #inFlight = 0
  #delivered = 0

  constructor(options: OffsetTrackerOptions = {}) {
    const { now, onRelease, mapFinished } = trackerOptions(options)
    this.#now = now
    this.#onRelease = onRelease
    this.#mapFinished = mapFinished
  }

  /**
   * A record was delivered. Its `seq` must be the next for (topic, partition, epoch) (0 for a new epoch) and
   * its offset beyond the previously delivered one (and not below an `advance()` position), else RangeError.
   * A newer epoch than the partition's current implicitly re-assigns it (the old epoch is retired as by
   * `revoke`); an epoch at or below one already seen and not current is a RangeError.
   *
   * @param at The delivery time on the tracker's clock ({@link now}). Default: read now. A source delivering a
   *   synchronous burst passes one reading for all of it (a clock read costs about as much as the rest here).
   */
  deliver(origin: RecordOrigin, at?: number): void {
    const offset = offsetValue(origin.offset)
    const p = this.#slotsOf(origin.topic)?.[origin.partition]?.current
    // The common case, checked in one go; anything else (a new partition or epoch, or an error) goes slow.
    if (p !== undefined && p.epoch === origin.epoch && origin.seq === p.tail && offset > p.lastDelivered &&
        offset >= p.position) {
      p.deliver(offset, at ?? this.#now(), origin)
      this.#inFlight++
      this.#delivered++
    } else this.#deliverSlowly(origin, at)
  }

  /** The tracker's clock (the `now` option, `Date.now` by default): what ages are measured with. */
  now(): number {
    return this.#now()
  }

  /**
   * The fetch position of (topic, partition, epoch) moved to `nextOffset` with no record delivered (log
   * compaction, transaction markers): once every record delivered before it is finished, the committable
   * offset may move up to here, so a fully processed partition reaches zero lag. Ignored for a partition not
   * owned in that epoch, or when not beyond the current position.
   */
  advance(topic: string, partition: number, epoch: number, nextOffset: string): void {
    const next = parseOffset(nextOffset, () => `advance(${topic}[${partition}] epoch ${epoch})`)
    const p = this.#slot(topic, partition)?.current
    if (p !== undefined && p.epoch === epoch) p.advance(next)
  }

  /**
   * The first fetch of (topic, partition) in `epoch` moved past offsets with no record (a batch of
   * transaction markers only) before any delivery: opens that epoch at `nextOffset`, as if a record born
   * finished had been delivered, so the commit past those offsets is committable like any progress (a
   * refused commit of it is sent again with the next commit, the final one included). In the partition's
   * current epoch it is `advance`. Ignored for an epoch older than the partition's latest. The caller owns
   * the partition in `epoch` and the fetch started at the group's committed offset: nothing unfinished lies
   * before `nextOffset`.
   *
   * ```text
   * epoch 3, nothing delivered; markers at 7-8 fetched alone   openAt(9)  ->  committable 9
   * then deliver 9 (seq 0), 10 (seq 1); finish 10              ->  committable still 9 (9 runs)
   * ```
   */
  openAt(topic: string, partition: number, epoch: number, nextOffset: string): void {
    const where = (): string => `openAt(${topic}[${partition}] epoch ${epoch})`
    const next = parseOffset(nextOffset, where)
    let slot = this.#slot(topic, partition)
    if (slot?.current?.epoch === epoch) return slot.current.advance(next)
    if (!Number.isSafeInteger(epoch)) throw new RangeError(`${where()}: epoch must be a safe integer`)
    if (slot !== undefined && epoch <= slot.lastEpoch) return
    if (slot === undefined) {
      checkPartition(topic, partition, where())
      slot = { current: undefined, lastEpoch: -Infinity, retired: undefined }
      this.#addSlotsOf(topic)[partition] = slot
    }
    retire(slot)
    const p = new EpochProgress(epoch)
    p.advance(next)
    slot.current = p
    slot.lastEpoch = epoch
  }

  /**
   * A delivered record finished (completed, dropped or dead-lettered). Returns true when it counted toward
   * the commit; false (changing no commit state) for an unknown partition, a retired or older epoch, a seq
   * not delivered, or one already finished. A retired epoch's record still releases in-flight budget, once.
   */
  finish(origin: RecordOrigin): boolean {
    const slot = this.#slot(origin.topic, origin.partition)
    if (slot === undefined) return false
    const { seq, epoch } = origin
    const p = slot.current
    if (p !== undefined && p.epoch === epoch) {
      if (!p.finish(seq)) return false
      this.#release(origin)
      return true
    }
    const old = slot.retired?.get(epoch)
    if (old !== undefined && old.finish(seq)) {
      if (old.unfinished === 0) slot.retired!.delete(epoch)
      this.#release(origin)
    }
    return false
  }

  /**
   * Per owned partition whose committable offset is beyond the last committed one: that offset (the next
   * offset to read) and the epoch it belongs to (with the `mapFinished` option, also the committed offset
 * again where records above it finished since the last `finishedAbove`). A pure query; empty when nothing progressed.
   */
  committable(): TrackedCommitOffset[] {
    return committableOf(this.#topics, this.#mapFinished)
  }

  /**
   * The offsets at or above `from` known finished in (topic, partition, epoch), as flat half-open ranges
   * `[a0, b0, a1, b1, ...]` (what the commit's offset map names); `[]` when that epoch is not owned. Cold:
   * called per commit, O(records in flight of the partition).
   */
  finishedAbove(topic: string, partition: number, epoch: number, from: number): number[] {
    const p = this.#slot(topic, partition)?.current
    return p !== undefined && p.epoch === epoch ? p.finishedRanges(from) : []
  }

  /**
   * The broker acknowledged these commits. Entries of an epoch not owned any more, or not beyond the last
   * committed offset, are ignored: the committed offset never moves backwards.
   */
  committed(offsets: readonly TrackedCommitOffset[]): void {
    for (const o of offsets) {
      const n = parseOffset(o.offset, () => `committed(${o.topic}[${o.partition}] epoch ${o.epoch})`)
      const p = this.#slot(o.topic, o.partition)?.current
      if (p !== undefined && p.epoch === o.epoch && n > p.committed) p.committed = n
    }
  }

  /**
   * The partition is no longer owned: its records no longer count toward commits. Its unfinished records
   * still count in `inFlight` (they are still running) until each is finished, then its state is freed.
   */
  revoke(topic: string, partition: number): void {
    const slot = this.#slot(topic, partition)
    if (slot !== undefined) retire(slot)
  }

  /** Every partition is revoked (kafkajs rebalances eagerly). */
  revokeAll(): void {
    for (const slots of this.#topics.values()) {
      for (const slot of slots) if (slot !== undefined) retire(slot)
    }
  }

  /** Delivered and not finished, across owned and retired partitions. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Records delivered since this tracker was made, every partition and epoch: a counter for rates. */
  get totalDelivered(): number {
    return this.#delivered
  }

  /** Records finished since this tracker was made (every delivered record is finished or in flight). */
  get totalFinished(): number {
    return this.#delivered - this.#inFlight
  }

  /** A snapshot per owned partition, for stats and tests. */
  partitions(): PartitionProgress[] {
    return progressOf(this.#topics, this.#now())
  }

  /** The owned partition's current epoch, or undefined: lets the source tell stale records. */
  epochOf(topic: string, partition: number): number | undefined {
    return this.#slot(topic, partition)?.current?.epoch
  }

  #deliverSlowly(origin: RecordOrigin, at: number | undefined): void {
    const { topic, partition, seq, epoch } = origin
    const where = (): string => `deliver(${topic}[${partition}] epoch ${epoch} seq ${seq})`
    const offset = parseOffset(origin.offset, where)
    let slot = this.#slot(topic, partition)
    if (slot === undefined) {
      checkPartition(topic, partition, where())
      slot = { current: undefined, lastEpoch: -Infinity, retired: undefined }
      this.#addSlotsOf(topic)[partition] = slot
    }
    const p = epochToDeliver(slot, epoch, seq, offset, where)
    p.deliver(offset, at ?? this.#now(), origin)
    this.#inFlight++
    this.#delivered++
  }

  #slot(topic: string, partition: number): Slot | undefined {
    return this.#slotsOf(topic)?.[partition]
  }

  #slotsOf(topic: string): (Slot | undefined)[] | undefined {
    if (topic === this.#lastTopic) return this.#lastSlots
    const slots = this.#topics.get(topic)
    if (slots !== undefined) {
      this.#lastTopic = topic
      this.#lastSlots = slots
    }
    return slots
  }

  #addSlotsOf(topic: string): (Slot | undefined)[] {
    let slots = this.#slotsOf(topic)
    if (slots === undefined) this.#topics.set(topic, (slots = []))
    return slots
  }

  #release(origin: RecordOrigin): void {
    this.#inFlight--
    this.#onRelease?.(this.#inFlight, origin)
  }
}
