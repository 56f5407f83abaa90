/**
 * Reading offset maps back on assignment: which records of a newly assigned partition already finished
 * under an earlier owner (named in the committed offset's metadata, see tracker/offset-map.ts), so that the
 * source hands them on marked as skipped instead of running them again. Off the per-record path: one
 * `admin.fetchOffsets` per assignment, one lookup per batch; per record, a cursor over sorted ranges.
 */
import type { OffsetFetchAdminLike } from '../client/admin'
import type { OwnedPartition } from '../tracker/partition-epochs'
import { decodeOffsetMap } from '../tracker/offset-map'
import { offsetValue } from '../tracker/partition-progress'

/**
 * Finished offset ranges of one partition, asked in increasing offset order (as a partition's records are
 * delivered): amortised O(1) per question.
 *
 * ```text
 * new SkipSet([5, 7, 9, 10])   has('4') false  has('5') true  has('6') true  has('8') false  has('9') true
 * ```
 *
 * @example
 * const skip = new SkipSet([5, 7])
 * skip.has('5') // true
 */
export class SkipSet {
  readonly #ranges: readonly number[]
  #at = 0
  /** Records found in the set so far. */
  skipped = 0

  constructor(ranges: readonly number[]) {
    this.#ranges = ranges
  }

  /** True when `offset` is in a range; offsets must not decrease from one call to the next. */
  has(offset: string): boolean {
    const n = offsetValue(offset)
    const r = this.#ranges
    while (this.#at < r.length && r[this.#at + 1]! <= n) this.#at += 2
    const hit = this.#at < r.length && r[this.#at]! <= n
    if (hit) this.skipped++
    return hit
  }

  /** True once every range lies below the offsets asked: nothing more to skip. */
  get done(): boolean {
    return this.#at >= this.#ranges.length
  }
}

/**
 * The committed offset maps of the current assignment, fetched once per assignment. A failed fetch, or a
 * map that does not decode, skips nothing (records run again, as without maps): never an error.
 *
 * ```text
 * assigned({ t: [0] }, gen 3) ─▶ admin.fetchOffsets({ groupId, topics: ['t'] })
 * skipsFor(lane t[0], gen 3)  ─▶ SkipSet of t[0]'s map, or undefined when it names nothing
 * ```
 *
 * @example
 * const maps = new CommittedMaps(admin, 'orders-group')
 * maps.assigned({ orders: [0, 1] }, epochs.generation)
 * const skip = await maps.skipsFor(lane, epochs.generation)
 */
export class CommittedMaps {
  readonly #admin: OffsetFetchAdminLike
  readonly #groupId: string
  #generation = -1
  #fetched: Promise<Map<string, number[]>> = Promise.resolve(new Map())
  readonly #skips = new WeakMap<OwnedPartition, SkipSet | null>()
  // Per partition, the ranges its current lane read back: every commit of that epoch names them again.
  readonly #inherited = new Map<string, { epoch: number; ranges: readonly number[] }>()
  /** Fetches that failed (nothing was skipped for their assignment). */
  failures = 0

  constructor(admin: OffsetFetchAdminLike, groupId: string) {
    this.#admin = admin
    this.#groupId = groupId
  }

  /**
   * Before the group join (at subscribe): one read whose answer is not used, so that the admin knows the
   * group's coordinator and the topics' metadata when the first assignment's read-back goes out. Why: a cold
   * read-back needs more round trips, and in the kafka bench they ended only after the consumer's first fetch
   * response was handled (decoding it is synchronous: hundreds of ms for 1 MB batches), so the first batch
   * waited for the read-back; warm, it was answered about 10 ms after the join, before that first batch.
   * Best effort: a failure is ignored (the read-back at the join is what counts).
   *
   * ```text
   * without: join ─ coordinator ─ metadata ─ [first fetch decoded] ─ offsets ─▶ first batch waits
   * with:    warm(t) ... join ─ offsets ─▶ answered before the first batch
   * ```
   */
  warm(topics: readonly (string | RegExp)[]): void {
    const named = topics.filter((t): t is string => typeof t === 'string')
    if (named.length > 0) this.#admin.fetchOffsets({ groupId: this.#groupId, topics: named }).catch(() => undefined)
  }

  /** A new assignment (kafkajs's GROUP_JOIN): starts reading its committed offsets and their maps. */
  assigned(assignment: Readonly<Record<string, readonly number[]>>, generation: number): void {
    this.#generation = generation
    const topics = Object.keys(assignment).filter((t) => (assignment[t]?.length ?? 0) > 0)
    this.#fetched = topics.length === 0 ? Promise.resolve(new Map()) : this.#fetch(topics)
  }

  /**
   * The skip set of a lane of the current assignment (awaited once per lane, at its first batch), or
   * undefined when there is nothing to skip (no map, or the lane is not of `generation`).
   */
  async skipsFor(lane: OwnedPartition, generation: number): Promise<SkipSet | undefined> {
    const known = this.#skips.get(lane)
    if (known !== undefined) return known === null || known.done ? undefined : known
    if (generation !== this.#generation) return undefined
    const id = `${lane.topic}\u0000${lane.partition}`
    const ranges = (await this.#fetched).get(id)
    const skip = ranges === undefined || ranges.length === 0 ? null : new SkipSet(ranges)
    if (!this.#skips.has(lane)) {
      this.#skips.set(lane, skip)
      if (skip === null) this.#inherited.delete(id)
      else this.#inherited.set(id, { epoch: lane.epoch, ranges: ranges! })
    }
    return this.skipsFor(lane, generation)
  }

  /**
   * The finished ranges the map read back for (topic, partition) named, while `epoch` is the lane that read
   * it; else `[]`. Why: until this epoch has delivered (and skipped) those records, the tracker does not know
   * them, and a commit naming only the tracker's would drop them from the group's map: a crash then would run
   * them again. They finished under an earlier owner, so naming them again never names an unfinished record.
   */
  inheritedOf(topic: string, partition: number, epoch: number): readonly number[] {
    const found = this.#inherited.get(`${topic}\u0000${partition}`)
    return found !== undefined && found.epoch === epoch ? found.ranges : []
  }

  async #fetch(topics: string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>()
    try {
      const fetched = await this.#admin.fetchOffsets({ groupId: this.#groupId, topics })
      for (const { topic, partitions } of fetched) {
        for (const { partition, offset, metadata } of partitions) {
          const ranges = decodeOffsetMap(metadata, offset)
          if (ranges.length > 0) out.set(`${topic}\u0000${partition}`, ranges)
        }
      }
    } catch {
      this.failures++ // records run again, as without maps
    }
    return out
  }
}
