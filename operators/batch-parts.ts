import type { Observer, Subscription } from 'rxjs'
import type { ArrivalLog } from './batch-arrivals'
import { KafkaRxError, retriableCause, textOf } from './kafka-rx-error'

const NO_RESULTS: readonly never[] = Object.freeze([])

/**
 * A batch failed: `run` threw, errored, or returned a number of results other than the batch's size. Carries
 * what failed so a failure policy (dead letters, retries) can act on exactly those records and items.
 * Retriable only when `run`'s error says so (a `retriable: true` flag on it or its causes): kafka-rx cannot
 * tell whether your batch API failed for good; a wrong number of results is a bug, never retriable.
 *
 * @example
 * ```ts
 * records$.pipe(batchByKey(r => r.key, writeMany)).subscribe({
 *   error: (err) => { if (err instanceof BatchError) console.error('not written:', err.records.length, err.cause) },
 * })
 * ```
 */
export class BatchError<T = unknown, I = unknown> extends KafkaRxError {
  override readonly name = 'BatchError'
  constructor(
    /** Every record with at least one item in the failed batch, in the order their first item entered it. */
    readonly records: readonly T[],
    /** The failed batch, as `run` received it. */
    readonly items: readonly I[],
    /** What `run` threw or emitted as error, or the RangeError for a wrong number of results. */
    override readonly cause: unknown,
  ) {
    super(
      `batchByKey: batch of ${items.length} item(s) from ${records.length} record(s) failed: ${cause instanceof Error ? cause.message : textOf(cause)}`,
      { stage: 'batchByKey', retriable: retriableCause(cause, false), cause },
    )
  }
}

/** A record with `itemsOf`: how many of its items have not yet run, and their results by item position. */
export class RecordJob<T, R> {
  constructor(
    readonly record: T,
    public remaining: number,
    readonly results: R[],
  ) {}
}

/** One item of a record with `itemsOf`: where its result goes. */
export class ItemRef<T, I, R> {
  constructor(
    readonly job: RecordJob<T, R>,
    readonly index: number,
    readonly item: I,
  ) {}
}

/**
 * What the machine keeps per item, from arrival until its batch finished. Without `itemsOf` it is the item
 * itself (which is the record): no object per waiting record, the most numerous thing the garbage collector
 * must trace while 100,000s of records wait. With `itemsOf` it is an {@link ItemRef}.
 */
export type Entry<T, I, R> = I | ItemRef<T, I, R>

/**
 * One key. `holder` is the unfinished batch holding the key's items (forming, sealed or running); while it is
 * not the forming batch, the key's new items wait, so a key is never in two running batches: first in the
 * machine's {@link ArrivalLog} (counted in `inLog`), then, once a batch finishes and the log is sorted, in
 * `waiting[head..]`. An array with a read index, not a linked list: one pointer per waiting item, not a node.
 */
export class Lane<T, I, R, K> {
  /** Null when nothing waits here (never an empty array), so the per-item check is one comparison. */
  waiting: Entry<T, I, R>[] | null = null
  head = 0
  holder: Batch<T, I, R, K> | null = null
  /** This key's entries still in the arrival log: they wait behind `waiting`. */
  inLog = 0
  /** Where the log's sort writes the next entry into `waiting`. */
  #filled = 0
  constructor(readonly key: K) {}

  hasWaiting(): boolean {
    return this.waiting !== null || this.inLog !== 0
  }
  /** Makes room at the end of `waiting` for the `inLog` entries the log's sort will {@link fill} in. */
  reserve(): void {
    if (this.waiting === null) {
      this.waiting = new Array<Entry<T, I, R>>(this.inLog)
      this.#filled = 0
    } else {
      this.#filled = this.waiting.length
      this.waiting.length += this.inLog
    }
  }
  /** The log's next entry of this lane, into the room {@link reserve} made. */
  fill(entry: Entry<T, I, R>): void {
    this.waiting![this.#filled++] = entry
    this.inLog--
  }
  /**
   * Moves the oldest waiting entries, at most `max` (>= 1), to the end of `batch` in order; call only when
   * `waiting` is not null. One loop per batch a release fills, not a dequeue and a placement per item.
   */
  moveInto(batch: Batch<T, I, R, K>, max: number, entriesAreItems: boolean): void {
    const waiting = this.waiting!
    const end = Math.min(waiting.length, this.head + max)
    const { entries, items } = batch
    for (let i = this.head; i < end; i++) {
      const entry = waiting[i]!
      waiting[i] = undefined as unknown as Entry<T, I, R>
      entries.push(entry)
      if (!entriesAreItems) items.push((entry as ItemRef<T, I, R>).item)
    }
    this.head = end
    this.#afterRead(waiting)
  }
  /**
   * Drops the array once emptied, and compacts it when the read part is half of it: a hot key whose queue
   * never empties must not keep what already ran.
   */
  #afterRead(waiting: Entry<T, I, R>[]): void {
    if (this.head === waiting.length) {
      this.waiting = null
      this.head = 0
    } else if (this.head >= 128 && this.head * 2 >= waiting.length) {
      // Moves at most as many entries as were read since the last compaction: O(1) amortised. Not below 128
      // read: the up to maxBatchSize items a release moves at once would otherwise be copied down as read.
      waiting.copyWithin(0, this.head)
      waiting.length -= this.head
      this.head = 0
    }
  }
}

/** What a {@link Batch} reports to when its run ends. */
export interface BatchOwner<T, I, R, K> {
  finish(batch: Batch<T, I, R, K>): void
  failBatch(batch: Batch<T, I, R, K>, cause: unknown): void
}

/** A batch, from its first item until `run`'s results came back; also the observer of that run. */
export class Batch<T, I, R, K> implements Observer<readonly R[]> {
  readonly entries: Entry<T, I, R>[] = []
  /** What `run` gets: `entries` itself without `itemsOf` (entries are the items then), else their items. */
  readonly items: I[]
  /** The distinct lanes of `entries`, released together when the batch finishes. */
  readonly lanes: Lane<T, I, R, K>[] = []
  results: readonly R[] = NO_RESULTS
  /** Link in the machine's FIFO of sealed batches waiting for a slot. */
  nextSealed: Batch<T, I, R, K> | null = null
  sub: Subscription | null = null
  /** The accumulation delay since the first item passed (or the source completed): may start. */
  due = false
  done = false
  constructor(
    readonly owner: BatchOwner<T, I, R, K>,
    entriesAreItems: boolean,
    /** Scheduler time of the first item: the batch is due `accumulationDelay` later. */
    readonly openedAt: number,
  ) {
    this.items = entriesAreItems ? (this.entries as I[]) : []
  }

  next(values: readonly R[]): void {
    if (this.done) return
    // One array (a Promise's) is kept as is; only a run emitting several arrays pays for concatenation.
    if (this.results === NO_RESULTS) this.results = values
    else this.results = this.results.concat(values)
  }
  error(err: unknown): void {
    if (this.done) return
    this.done = true
    this.owner.failBatch(this, err)
  }
  complete(): void {
    if (this.done) return
    this.done = true
    this.owner.finish(this)
  }
  /** A Promise's outcome, taken with `.then` (no Observable and Subscriber per batch). */
  resolved(values: readonly R[]): void {
    this.next(values)
    this.complete()
  }
}
