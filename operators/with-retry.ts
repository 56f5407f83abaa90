import {
  Observable, asyncScheduler, from, type ObservableInput, type SchedulerLike, Subscription,
} from 'rxjs'
import { failed, type Result } from './result'
import { checkMetrics, type PipelineMetrics } from './pipeline-metrics'

/** Options of {@link withRetry}; every one has a default. */
export interface WithRetryOptions {
  /** Tries in all (the first one included). Default 3. */
  maxAttempts?: number
  /** Ms to wait before try `attempt + 1` after try `attempt` (1-based) failed. Default `min(100 * 2^(attempt - 1), 10000)`. */
  backoff?: (attempt: number) => number
  /** Whether an error is worth another try; a false gives up at once. Default: every error is. */
  retryable?: (error: unknown) => boolean
  /** When tries run out: a `failed` result routed to the dead-letter topic (by `publish`), or one that stops the
   *  stream (by `publish`, else by `commitOffsets`, once everything before the record is finished). Either one,
   *  unrouted, stops the commit at the record. Default 'dead-letter'. */
  onExhausted?: 'dead-letter' | 'fail'
  /** Schedules the backoff waits. Default `asyncScheduler`. */
  scheduler?: SchedulerLike
  /** Counts `retries` (failed tries to be tried again) and `exhausted` records, for `pipelineStats`. Default: none. */
  metrics?: PipelineMetrics
}

const defaultBackoff = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 10_000)

/**
 * Wraps a per-record projection so that it never errors: a try that errors is run again after `backoff`,
 * and once `maxAttempts` tries failed (or `retryable` says no) it emits one `failed(error, attempts, action)`
 * result instead. A try's values are held until it completes, so a try that fails halfway leaks nothing.
 *
 * Use it INSIDE `groupByKeyConcat`: while a record waits and retries, its key's later records wait behind
 * it (key order holds across retries) and other keys go on. Why not `onExhausted: 'fail'` as an error here:
 * an error in `groupByKeyConcat` cancels every record in flight, including earlier records of the same
 * partition on other keys, so the commit could not reach the failed record. A `failed` result travels in
 * partition order instead, and `publish` stops exactly at it.
 *
 * ```text
 * project: tries #1 and #2 error at once, #3 emits r; backoff(n) = 2n
 * result:  ------(r|)    waits 2 after #1, 4 after #2 (frames 0, 2, 6)
 * maxAttempts 2:  --(F|)  F = failed(error, 2, 'dead-letter'), after one wait of 2
 * ```
 *
 * @example
 * source.pipe(
 *   groupByKeyConcat(recordKey, withRetry(r => callApi(r).then(forward), { maxAttempts: 5 }), { concurrency: 64 }),
 *   orderedMerge(),
 *   publish(producer, { topic: 'out', deadLetterTopic: 'orders-dlt' }),
 *   commitOffsets(source),
 * )
 *
 * @param project The work for one record, emitting its result(s).
 * @param options Attempts, backoff, what to do when they run out; see {@link WithRetryOptions}.
 * @returns A projection for `groupByKeyConcat` that emits the results of the first successful try, or one
 *   `Failed` result.
 * @throws {RangeError|TypeError} At call time, for invalid options.
 */
export function withRetry<T, O>(
  project: (item: T, index: number) => ObservableInput<Result<O>>,
  options: WithRetryOptions = {},
): (item: T, index: number) => Observable<Result<O>> {
  const {
    maxAttempts = 3, backoff = defaultBackoff, retryable = () => true, onExhausted = 'dead-letter',
    scheduler = asyncScheduler, metrics,
  } = options
  if (typeof project !== 'function') throw new TypeError('withRetry: project must be a function')
  if (!(maxAttempts === Infinity || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 1))) {
    throw new RangeError(`withRetry: maxAttempts must be an integer >= 1 or Infinity, got ${String(maxAttempts)}`)
  }
  if (typeof backoff !== 'function') throw new TypeError('withRetry: backoff must be a function')
  if (typeof retryable !== 'function') throw new TypeError('withRetry: retryable must be a function')
  if (onExhausted !== 'dead-letter' && onExhausted !== 'fail') {
    throw new TypeError(`withRetry: onExhausted must be 'dead-letter' or 'fail', got ${String(onExhausted)}`)
  }
  checkMetrics(metrics, 'withRetry')

  return (item, index) => new Observable<Result<O>>((subscriber) => {
    // One parent for every try and wait: a try that errors synchronously schedules its wait before
    // `subscribe` returns, so a single "current" variable would be overwritten by the finished try.
    const all = new Subscription()

    const give = (values: readonly Result<O>[]): void => {
      for (const v of values) subscriber.next(v)
      subscriber.complete()
    }

    const attempt = (n: number): void => {
      const values: Result<O>[] = []
      const onError = (error: unknown): void => {
        let delay: number
        try {
          if (n >= maxAttempts || !retryable(error)) {
            if (metrics !== undefined) metrics.exhausted++
            return give([failed(error, n, onExhausted)])
          }
          delay = backoff(n)
          if (typeof delay !== 'number' || !(delay >= 0 && delay < Infinity)) {
            throw new RangeError(`withRetry: backoff(${n}) returned ${String(delay)}, not a finite delay >= 0`)
          }
        } catch (e) {
          // A broken option is a bug of the pipeline, not of the record: error, do not dead-letter.
          return subscriber.error(e)
        }
        if (metrics !== undefined) metrics.retries++
        all.add(scheduler.schedule(() => attempt(n + 1), delay))
      }
      let input: ObservableInput<Result<O>>
      try {
        input = project(item, index)
      } catch (e) {
        return onError(e)
      }
      all.add(from(input).subscribe({
        next: (v) => values.push(v),
        error: onError,
        complete: () => give(values),
      }))
    }

    attempt(1)
    return all
  })
}
