import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs'
import type { OffsetTracker } from '../tracker/offset-tracker'
import { KafkaRxError } from '../../operators/kafka-rx-error'

/** One partition that still had records running when the drain timed out. */
export interface UnfinishedPartition {
  readonly topic: string
  readonly partition: number
  /** Records of this partition delivered and not finished. */
  readonly unfinished: number
  /**
   * Where the commit stops: no offset from here on is committed. It is the offset of the oldest unfinished
   * record when offsets are dense (it may sit in a gap just before it after compaction).
   */
  readonly from: string | undefined
  /**
   * The last commit the broker acknowledged for this partition in this assignment (next offset to read), as
   * of the error; undefined when none was (then the commit of the start position was refused or is pending).
   */
  readonly committed: string | undefined
}

/**
 * A `fromKafka` source was aborted (its `signal`) and records were still unfinished after `drainTimeout` ms.
 * The stream errors with it so that downstream operators cancel their running work; `commitOffsets` still
 * commits the finished prefix of each partition, never past an unfinished record, so the next owner of a
 * partition reads again from its oldest unfinished record (or earlier: records that finish while the stream
 * errors, e.g. a `publish` batch acknowledged then, come too late for the consumer's last commit).
 *
 * Not retriable: the shutdown asked for happened, only not cleanly; the records are re-delivered to the
 * next owner. Waiting longer is a configuration change (`drainTimeout`), not a retry.
 *
 * @example
 * source.pipe(...).subscribe({ error: (e) => { if (e instanceof DrainTimeoutError) log.warn(e.message) } })
 */
export class DrainTimeoutError extends KafkaRxError {
  /**
   * @param timeout The drain timeout that passed, in ms.
   * @param unfinished Records delivered and not finished, revoked partitions included.
   * @param partitions Owned partitions with unfinished records.
   */
  constructor(
    readonly timeout: number,
    readonly unfinished: number,
    readonly partitions: readonly UnfinishedPartition[],
  ) {
    const where = partitions.map((p) => {
      const committed = p.committed === undefined ? 'nothing committed' : `committed ${p.committed}`
      return `${p.topic}[${p.partition}]: ${p.unfinished} from offset ${p.from ?? '?'}, ${committed}`
    })
    const revoked = unfinished - partitions.reduce((n, p) => n + p.unfinished, 0)
    if (revoked > 0) where.push(`${revoked} of revoked partitions`)
    super(
      `fromKafka: ${unfinished} records still unfinished ${timeout} ms after abort (${where.join('; ')}); no commit passes them`,
      { stage: 'fromKafka', retriable: false },
    )
    this.name = 'DrainTimeoutError'
  }

  /** The error for what `tracker` holds unfinished now. */
  static of(tracker: OffsetTracker, timeout: number): DrainTimeoutError {
    const partitions = tracker.partitions()
      .filter((p) => p.inFlight > 0)
      .map(({ topic, partition, inFlight, committable, committed, oldestUnfinished }) => ({
        topic, partition, unfinished: inFlight, from: committable ?? oldestUnfinished?.offset ?? committed, committed,
      }))
    return new DrainTimeoutError(timeout, tracker.inFlight, partitions)
  }
}

/**
 * After an abort, waits until no record is in flight, or until `timeout` ms passed; then calls `end` once,
 * with true (drained) or false (timed out). `end` always runs from the scheduler, never inside `start()` or
 * `released()`: those are called from the middle of the pipeline (an abort in a `tap`, a `tracker.finish`
 * in `commitOffsets`), where completing the source at once would re-enter it.
 *
 * ```text
 * in flight:  3---2---1-----0          timeout 20
 * start():    --S                      S = abort
 * end:        --------------(true)     at the first tick after 0; false at S + 20 if 0 never came
 * ```
 *
 * @example
 * const drain = new Drain(() => tracker.inFlight, 30_000, (drained) => drained ? sub.complete() : sub.error(...))
 * signal.addEventListener('abort', () => drain.start())
 * // on every release of budget: drain.released(tracker.inFlight)
 */
export class Drain {
  readonly #inFlight: () => number
  readonly #timeout: number
  readonly #end: (drained: boolean) => void
  readonly #scheduler: SchedulerLike
  #state: 'idle' | 'draining' | 'ending' | 'over' = 'idle'
  #timer: Subscription | undefined

  constructor(inFlight: () => number, timeout: number, end: (drained: boolean) => void, scheduler: SchedulerLike = asyncScheduler) {
    this.#inFlight = inFlight
    this.#timeout = timeout
    this.#end = end
    this.#scheduler = scheduler
  }

  /** True once `start()` (or `cancel()`) was called, also after the end: nothing more is to be delivered. */
  get started(): boolean {
    return this.#state !== 'idle'
  }

  /** Starts draining (a no-op when already started). */
  start(): void {
    if (this.#state !== 'idle') return
    this.#state = 'draining'
    if (this.#inFlight() === 0) this.#finish(true, 0)
    else this.#finish(false, this.#timeout)
  }

  /** In-flight budget was released: when draining and it reached 0, drained. */
  released(inFlight: number): void {
    if (this.#state === 'draining' && inFlight === 0) this.#finish(true, 0)
  }

  /** Stops waiting without calling `end` (the subscription is closing anyway). */
  cancel(): void {
    this.#over()
  }

  // Ends after `delay`: the timeout (still 'draining' meanwhile) or, once drained, the next tick ('ending').
  #finish(drained: boolean, delay: number): void {
    this.#timer?.unsubscribe()
    this.#state = drained ? 'ending' : 'draining'
    this.#timer = this.#scheduler.schedule(() => {
      this.#over()
      this.#end(drained)
    }, delay)
  }

  #over(): void {
    this.#state = 'over'
    this.#timer?.unsubscribe()
    this.#timer = undefined
  }
}

/**
 * Calls `onAbort` once when `signal` aborts; returns the remover. Nothing for an undefined signal.
 *
 * @example
 * removers.push(listenAbort(settings.signal, () => drain.start()))
 */
export function listenAbort(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return () => undefined
  signal.addEventListener('abort', onAbort, { once: true })
  return () => signal.removeEventListener('abort', onAbort)
}
