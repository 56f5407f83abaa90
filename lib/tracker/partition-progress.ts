import type { RecordOrigin } from '../record/record'

/**
 * One partition's progress within one assignment epoch: which delivered records are finished, and how far
 * the commit may go. The `OffsetTracker` keeps one of these per owned partition (and one per retired epoch
 * that still has records running).
 */

/** A snapshot of one owned partition, for stats and tests. Offsets are strings, as Kafka gives them. */
export interface PartitionProgress {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
  /** Records delivered in this epoch. */
  readonly delivered: number
  /** Records of this epoch finished (completed, dropped or dead-lettered), in any order. */
  readonly finished: number
  /** Records of this epoch delivered and not finished. */
  readonly inFlight: number
  readonly lastDeliveredOffset: string | undefined
  /** The next offset to read that a commit may name now, or undefined when nothing finished yet. */
  readonly committable: string | undefined
  /**
   * The last commit the broker acknowledged in this epoch (next offset to read), or undefined while none was:
   * never a guess. (`fromKafka` commits an epoch's start position before delivering its first record.)
   */
  readonly committed: string | undefined
  /** `now()` minus the delivery time of the oldest unfinished record: a stuck record shows up here. */
  readonly oldestUnfinishedAgeMs: number | undefined
  /**
   * The oldest unfinished record as it was delivered (with its key, when the record has one): the one
   * holding the commit back. Undefined when nothing is unfinished.
   */
  readonly oldestUnfinished: RecordOrigin | undefined
}

/**
 * A Kafka offset (int64 in decimal) as a number, exactly, or -1 when it is malformed or beyond 2^53 - 1 (a
 * silently rounded offset could commit past a record). Strict where `Number()` is lax ('', ' 7', '0x1f',
 * '1e3'), and a digit loop rather than a regex: it runs once per record.
 *
 * @example
 * offsetValue('42')   // 42
 * offsetValue('4e1')  // -1
 */
export function offsetValue(offset: unknown): number {
  if (typeof offset !== 'string') return -1
  const len = offset.length
  // No leading zeros, as kafkajs never writes them; more than 16 digits is beyond 2^53 anyway.
  if (len === 0 || len > 16 || (len > 1 && offset.charCodeAt(0) === 48)) return -1
  let n = 0
  for (let i = 0; i < len; i++) {
    const d = offset.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d // exact below 2^53; above it rounding keeps n >= 2^53, which the check below rejects
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : -1
}

/**
 * {@link offsetValue}, with a RangeError naming `context()` instead of -1.
 *
 * @example
 * parseOffset('42', () => 'deliver') // 42
 */
export function parseOffset(offset: unknown, context: () => string): number {
  const n = offsetValue(offset)
  if (n < 0) {
    throw new RangeError(`${context()}: offset must be a non-negative integer in decimal up to 2^53 - 1, got ${JSON.stringify(offset)}`)
  }
  return n
}

const INITIAL_CAPACITY = 16

/**
 * Delivered records of one (topic, partition, epoch), in a ring buffer indexed by `seq`.
 *
 * Entries from `head` to `tail - 1` are live; every seq below `head` is finished and folded into
 * `watermark`. Each entry holds its finished flag, its delivery time, and its *reach*: the offset a commit
 * may name once it and everything before it finished (its offset + 1, or a later `advance()` position seen
 * before the next delivery). `advance()` thus acts as a record that is born finished: the fetch position
 * only moves past offsets that were delivered before it or that do not exist.
 *
 * @example
 * const p = new EpochProgress(0)
 * p.deliver(0, 10, 0); p.deliver(1, 15, 0)
 * p.finish(1) // true, but the watermark waits for seq 0
 * p.finish(0) // true; watermark is now 16
 */
export class EpochProgress {
  /** Seq of the oldest live entry: the oldest unfinished record whenever `head < tail`. */
  head = 0
  /** Next seq expected, which is also the number delivered in this epoch. */
  tail = 0
  unfinished = 0
  /** Offset a commit may name now; -1 when nothing finished and nothing advanced yet. */
  watermark = -1
  /** Next fetch position (last delivered + 1, or a later advance); -1 before anything. */
  position = -1
  lastDelivered = -1
  /** Last acknowledged commit; -1 while none (a commit is reported, never assumed). */
  committed = -1
  /** Records finished above the watermark since the last `finishedRanges` call: the offset map is behind. */
  finishedSinceMap = 0

  private mask = INITIAL_CAPACITY - 1
  private done = new Uint8Array(INITIAL_CAPACITY)
  private reach = new Float64Array(INITIAL_CAPACITY)
  private time = new Float64Array(INITIAL_CAPACITY)
  // The delivered record itself, for stats (its key); cleared at finish so a finished record is not kept alive.
  private records: (RecordOrigin | undefined)[] = new Array<RecordOrigin | undefined>(INITIAL_CAPACITY).fill(undefined)

  constructor(readonly epoch: number) {}

  /** Appends the record with seq `tail`; the caller checked seq and offset order. */
  deliver(offset: number, now: number, record?: RecordOrigin): void {
    if (this.tail - this.head > this.mask) this.grow()
    const i = this.tail & this.mask
    this.done[i] = 0
    this.reach[i] = offset + 1
    this.time[i] = now
    this.records[i] = record
    this.tail++
    this.unfinished++
    this.lastDelivered = offset
    this.position = offset + 1
  }

  advance(next: number): void {
    if (next <= this.position) return
    this.position = next
    if (this.head === this.tail) this.watermark = next
    else this.reach[(this.tail - 1) & this.mask] = next
  }

  /** Marks `seq` finished; false when it was not delivered or already finished. */
  finish(seq: number): boolean {
    if (!(seq >= this.head && seq < this.tail) || !Number.isInteger(seq)) return false
    const { mask, done } = this
    if (done[seq & mask] === 1) return false
    done[seq & mask] = 1
    this.records[seq & mask] = undefined
    this.unfinished--
    if (seq === this.head) {
      let h = this.head
      while (h < this.tail && done[h & mask] === 1) h++
      this.watermark = this.reach[(h - 1) & mask]
      this.head = h
    } else this.finishedSinceMap++
    return true
  }

  /**
   * The offsets at or above `from` known finished in this epoch, as flat half-open ranges `[a0, b0, ...]`
   * (the span below the watermark, then each finished record above it with the offsets the fetch skipped
   * just before it: none of those holds a record to run). Resets `finishedSinceMap`. O(records in flight).
   */
  finishedRanges(from: number): number[] {
    this.finishedSinceMap = 0
    const out: number[] = []
    const add = (a: number, b: number): void => {
      if (a < from) a = from
      if (b <= a) return
      if (out.length > 0 && out[out.length - 1] === a) out[out.length - 1] = b
      else out.push(a, b)
    }
    if (this.watermark > from) add(from, this.watermark)
    if (this.unfinished === this.tail - this.head) return out // nothing finished above the watermark
    const { mask, done, reach } = this
    for (let s = this.head + 1; s < this.tail; s++) {
      if (done[s & mask] === 1) add(reach[(s - 1) & mask]!, reach[s & mask]!)
    }
    return out
  }

  /** Delivery time of the oldest unfinished record. */
  oldestDeliveryTime(): number | undefined {
    return this.head < this.tail ? this.time[this.head & this.mask] : undefined
  }

  /** The oldest unfinished record as delivered (undefined when none, or delivered without the record). */
  oldestRecord(): RecordOrigin | undefined {
    return this.head < this.tail ? this.records[this.head & this.mask] : undefined
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2
    const mask = capacity - 1
    const done = new Uint8Array(capacity)
    const reach = new Float64Array(capacity)
    const time = new Float64Array(capacity)
    const records = new Array<RecordOrigin | undefined>(capacity).fill(undefined)
    for (let s = this.head; s < this.tail; s++) {
      done[s & mask] = this.done[s & this.mask]
      reach[s & mask] = this.reach[s & this.mask]
      time[s & mask] = this.time[s & this.mask]
      records[s & mask] = this.records[s & this.mask]
    }
    this.mask = mask
    this.done = done
    this.reach = reach
    this.time = time
    this.records = records
  }
}
