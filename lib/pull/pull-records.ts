/**
 * `pullRecords`: a source as an `ix` async iterable, for `for await` loops. The bridge itself is ix's
 * `from(observable)` (one buffer, unsubscribe on `return()`); what this file adds is the feedback path: the
 * loop's `finish(record)` calls go into `commitOffsets`, the same gap-safe, collapsed commit path a push
 * pipeline ends in, and the loop's end waits for the source's shutdown.
 */
import { Observable, type Subscriber } from 'rxjs'
import { AsyncIterableX, from } from 'ix/asynciterable'
import { bufferCountOrTime, finalize } from 'ix/asynciterable/operators'
import { commitOffsets, type CommitOffsetsOptions, type CommitTarget } from '../../operators/commit-offsets'
import type { RecordOrigin } from '../record/record'

/** What `pullRecords` pulls from: a `KafkaSource` (records, its commit target, and its shutdown). */
export interface PullSource<T extends RecordOrigin> extends Observable<T>, CommitTarget {
  /** Settles once the subscription's shutdown is done (final commit, stop, disconnect). */
  closed(): Promise<void>
}

/** Options of {@link pullRecords}: how finished records are committed (those of `commitOffsets`). */
export type PullOptions = Omit<CommitOffsetsOptions<RecordOrigin>, 'originOf'>

/** Micro-batches of {@link KafkaPull.batches}: at most `size` records, or what arrived within `time` ms. */
export interface PullBatchOptions {
  /** Records per batch at most. */
  readonly size: number
  /** Ms a non-empty, non-full batch waits for more before it is yielded. */
  readonly time: number
}

/**
 * The records of a source as an async iterable (`for await`), plus `finish`, the loop's way to say a record
 * is done. Typed as a plain `AsyncIterable` so that a user's compile never needs ix's declarations (they
 * need the DOM lib); at run time it is an ix `AsyncIterableX`, and `AsyncIterableX.from(pull)` gives ix's
 * operators.
 */
export interface KafkaPull<T extends RecordOrigin> extends AsyncIterable<T> {
  /**
   * Marks a pulled record finished: it counts toward the next commit (never past an unfinished record) and
   * frees its place in the in-flight budget. Finishing twice counts once; a record of a loop that has ended
   * (or of a revoked partition) is ignored.
   */
  finish(record: RecordOrigin): void
  /** The same records in arrays of up to `size`, or of what arrived within `time` ms (ix `bufferCountOrTime`). */
  batches(options: PullBatchOptions): AsyncIterable<T[]>
}

/**
 * Pulls a source's records with `for await`. Each iteration subscribes to the source (so connects, joins the
 * group, fetches) and the loop's end unsubscribes: `break`, `return` or an exception in the loop body commits
 * what was finished and disconnects the consumer before the loop statement completes; the source's error
 * (after the records already pulled) is thrown by the loop. An aborted `signal` of the source drains: no new
 * records are fetched, the loop gets those already delivered, and ends once all of them are finished.
 *
 * Pulled and not finished counts in flight, as does what waits in the bridge's buffer: a slow loop body
 * makes the source pause fetching at `maxInFlight`, so the buffer never holds more than that.
 *
 * ```text
 * source:    --r0-r1-r2-----(paused: r0..r2 unfinished, maxInFlight 3)------r3--
 * loop:      --r0----------r1--------r2--------r3--
 * finish:    ---------r0--------r1--------r2------   (commits collapse: one per interval)
 * ```
 *
 * @example
 * const orders = fromKafka(consumer, { topics: ['orders'], maxInFlight: 100 })
 * const pull = pullRecords(orders, { interval: 1_000 })
 * for await (const order of pull) {
 *   await handle(order)
 *   pull.finish(order)
 * }
 *
 * @param source A `KafkaSource` (from `fromKafka`).
 * @param options How finished records are committed; see `commitOffsets`.
 * @returns A {@link KafkaPull}: iterate it once at a time (each iteration is one subscription).
 * @throws {TypeError} At call time, for invalid options (as `commitOffsets` would).
 */
export function pullRecords<T extends RecordOrigin>(source: PullSource<T>, options: PullOptions = {}): KafkaPull<T> {
  const commit = commitOffsets<RecordOrigin>(source, options) // validates the options now
  // The loop's finish calls, into the live iteration's commit stream.
  let finishes: Subscriber<RecordOrigin> | undefined
  let failed = false

  const records = new Observable<T>((loop) => {
    failed = false
    const toCommit = new Observable<RecordOrigin>((inner) => {
      finishes = inner
      const subscription = source.subscribe({
        next: (record) => loop.next(record),
        error: (error) => inner.error(error),
        complete: () => inner.complete(),
      })
      return () => {
        if (finishes === inner) finishes = undefined
        subscription.unsubscribe()
      }
    })
    // commitOffsets ends only after its final commit: the loop hears of the end once that is acknowledged.
    return toCommit.pipe(commit).subscribe({
      error: (error) => {
        failed = true
        loop.error(error)
      },
      complete: () => loop.complete(),
    })
  })

  const iterable: AsyncIterableX<T> = from(records).pipe(
    // The loop statement completes only once the consumer is disconnected. A shutdown failure is thrown
    // unless the iteration already failed (then its own error says more).
    finalize(() => source.closed().catch((error: unknown) => {
      if (!failed) throw error
    })),
  )
  const pull = iterable as AsyncIterableX<T> & KafkaPull<T>
  pull.finish = (record) => {
    finishes?.next(record)
  }
  pull.batches = ({ size, time }) => {
    if (!(Number.isInteger(size) && size >= 1)) throw new TypeError(`pullRecords batches: size must be an integer >= 1, got ${String(size)}`)
    if (!(time > 0 && time < Infinity)) throw new TypeError(`pullRecords batches: time must be a finite number of ms > 0, got ${String(time)}`)
    return iterable.pipe(bufferCountOrTime<T>(size, time))
  }
  return pull
}
