import { Observable, asyncScheduler, type ObservableInput, type OperatorFunction, type SchedulerLike } from 'rxjs'
import { BatchError, BatchQueues } from './batch-queues'
import type { Processed } from './processed'

export { BatchError }

/** Options of {@link batchByKey}. */
export interface BatchByKeyOptions {
  /** Most items in one batch; a full batch starts as soon as a slot is free. Default: 100. */
  maxBatchSize?: number
  /** Most batches running at once. Default: 4. */
  maxConcurrentBatches?: number
  /** Scheduler time (ms) after a batch's first item before it may start without being full. Default: 5. */
  accumulationDelay?: number
  /** Schedules the accumulation delay (a TestScheduler in marble tests). Default: asyncScheduler. */
  scheduler?: SchedulerLike
}

/** {@link BatchByKeyOptions} for records that contribute several items each. */
export interface BatchByKeyItemsOptions<T, I> extends BatchByKeyOptions {
  /** The items of one record, in order (may be empty: the record is then emitted at once). */
  itemsOf: (record: T) => readonly I[]
}

/**
 * Runs a batch function over groups of items (a database's batch write, a queue's batch send) such that a
 * key is never in two running batches at once: GKES's AsyncBatcher as an operator. Emits exactly one
 * {@link Processed} per record, after ALL of its items ran, with one result per item in item order; output is
 * in completion order (`orderedMerge` restores partition order downstream).
 *
 * - A batch starts when it holds `maxBatchSize` items, or when `accumulationDelay` passed since its first item
 *   (at once when the source completed), and fewer than `maxConcurrentBatches` run. A batch that is due but
 *   has no slot keeps taking items until it is full.
 * - A batch may hold items of many keys, and several items of one key, in arrival order. While a key's items
 *   sit in a sealed or running batch, its later items wait; when that batch finishes they join the next
 *   batch in order. So a key's items run in arrival order, across batches too.
 * - A record's items may span several batches (more than `maxBatchSize`, or behind busy keys).
 * - `run` gets the items of one batch and returns their results in the same order, as an ObservableInput of
 *   arrays (e.g. a Promise of one array; arrays emitted by an Observable are concatenated). When it throws,
 *   errors, or returns a total count other than the batch's size, the output errors with a
 *   {@link BatchError} naming the batch's records and items, and all work is cancelled. An error of `keyOf`,
 *   `itemsOf` or the source errors the output as is. Unsubscribing cancels running batches and the timer.
 *
 * Keys compare like `Map` keys. O(1) amortised per item: an item that must wait is appended to one arrival
 * log, sorted into its key's queue (an array read from the front, compacted as it is read) when a batch
 * finishes, and moved from there into a batch; the sealed batches sit in a linked FIFO; one delay timer
 * serves all batches; synchronous runs are trampolined, not recursed.
 *
 * ```text
 * maxBatchSize 2, maxConcurrentBatches 1, accumulationDelay 2; letters are keys; run takes 4 frames
 * source:  -aab-c---|
 * batch 1:   [aa]           full at frame 2: starts at once, runs frames 2-6
 * batch 2:    [b c]         due at frame 5 but no slot, so c joins and fills it; starts at frame 6
 * result:  ------(AB)(CD|)  A, B = the two a records; C = b, D = c
 * ```
 *
 * @example
 * ```ts
 * records$.pipe(
 *   // One INSERT per 500 rows, 8 in flight; rows of one account never in two concurrent INSERTs.
 *   batchByKey(r => r.key?.toString(), (rows) => db.insertMany(rows), { maxBatchSize: 500, maxConcurrentBatches: 8 }),
 *   orderedMerge(),
 * )
 * ```
 *
 * @param keyOf The key of one item (of a record when there is no `itemsOf`).
 * @param run Executes one batch; returns one result per item, in order.
 * @param options Sizes and delay (see {@link BatchByKeyOptions}); `itemsOf` (default: the record is its
 *   only item).
 * @returns An operator emitting one `Processed<T, R>` per record.
 * @throws {TypeError} At call time, for a callback that is not a function or an option out of range.
 */
export function batchByKey<T, I, R>(
  keyOf: (item: I) => unknown,
  run: (batch: readonly I[]) => ObservableInput<readonly R[]>,
  options: BatchByKeyItemsOptions<T, I>,
): OperatorFunction<T, Processed<T, R>>
export function batchByKey<T, R>(
  keyOf: (item: NoInfer<T>) => unknown,
  run: (batch: readonly T[]) => ObservableInput<readonly R[]>,
  options?: BatchByKeyOptions,
): OperatorFunction<T, Processed<T, R>>
export function batchByKey<T, I, R>(
  keyOf: (item: I) => unknown,
  run: (batch: readonly I[]) => ObservableInput<readonly R[]>,
  options: BatchByKeyOptions & { itemsOf?: (record: T) => readonly I[] } = {},
): OperatorFunction<T, Processed<T, R>> {
  const { maxBatchSize = 100, maxConcurrentBatches = 4, accumulationDelay = 5, scheduler = asyncScheduler, itemsOf } = options
  const fail = (what: string): never => {
    throw new TypeError(`batchByKey: ${what}`)
  }
  if (typeof keyOf !== 'function') fail('keyOf must be a function')
  if (typeof run !== 'function') fail('run must be a function')
  if (itemsOf !== undefined && typeof itemsOf !== 'function') fail('itemsOf must be a function when given')
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) fail(`maxBatchSize must be an integer >= 1, got ${String(maxBatchSize)}`)
  if (!(maxConcurrentBatches === Infinity || (Number.isInteger(maxConcurrentBatches) && maxConcurrentBatches >= 1))) {
    fail(`maxConcurrentBatches must be an integer >= 1 or Infinity, got ${String(maxConcurrentBatches)}`)
  }
  if (typeof accumulationDelay !== 'number' || !Number.isFinite(accumulationDelay) || accumulationDelay < 0) {
    fail(`accumulationDelay must be a finite number >= 0, got ${String(accumulationDelay)}`)
  }
  const settings = { keyOf, run, itemsOf, maxBatchSize, maxConcurrentBatches, accumulationDelay, scheduler }
  return (source) =>
    new Observable<Processed<T, R>>((subscriber) => new BatchQueues<T, I, R, unknown>(subscriber, settings).connect(source))
}
