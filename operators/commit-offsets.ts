import {
  Observable, asyncScheduler, config, from,
  type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscription,
} from 'rxjs'
import type { CommitTracker } from './commit-tracker'
import type { RecordOrigin, TrackedCommitOffset } from './record-origin'
import { originOf as defaultOriginOf } from './origin-of'
import { rejectRenamed } from './renamed-options'
import { UnroutedFailureError, unroutedFailureOf } from './unrouted-failure'

/** Where commits go: the tracker that knows what is committable, and the call that commits it. */
export interface CommitTarget {
  readonly tracker: CommitTracker
  /** Sends a commit; completes (or resolves) when acknowledged, errors (or rejects) when it failed. */
  commit(offsets: readonly TrackedCommitOffset[]): ObservableInput<unknown>
}

/** Options of {@link commitOffsets}; every one has a default. */
export interface CommitOffsetsOptions<T> {
  /** At most one commit per `interval` ms (unless `maxUncommitted` comes first). Default 5000. */
  interval?: number
  /** Commit early once this many records finished since the last commit (`batchSize` before 0.2). Default 10000. */
  maxUncommitted?: number
  /** The record an item stands for. Default `originOf`: the item, or `item.item` of a `Processed`. */
  originOf?: (item: T) => RecordOrigin
  /** Ms to wait before retry `attempt` (1-based). Default `min(100 * 2^(attempt - 1), 10000)`. */
  backoff?: (attempt: number) => number
  /** Tries per commit; once exhausted the stream errors with the last failure. Default 10. */
  maxAttempts?: number
  /** Schedules the interval and the retries. Default `asyncScheduler`. */
  scheduler?: SchedulerLike
}

/** A commit the broker acknowledged. */
export interface Commit {
  readonly offsets: readonly TrackedCommitOffset[]
  /** 1 when the first try succeeded. */
  readonly attempts: number
  /** `scheduler.now()` when acknowledged. */
  readonly time: number
  readonly reason: 'interval' | 'batch' | 'final'
}

const defaultBackoff = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 10_000)

/**
 * Treats every item as a finished record (`tracker.finish(originOf(item))`) and commits the tracker's
 * progress: gap-safe (never past an unfinished record), collapsed, strictly increasing per partition.
 *
 * - At most one commit per `interval`, on a timer started by the first progress after a commit (an idle
 *   stream commits nothing); earlier once `maxUncommitted` records finished.
 * - One commit in flight at a time: progress made meanwhile goes into the next one.
 * - A failed commit is retried after `backoff(attempt)` with a fresh `committable()`, so it carries newer
 *   progress and leaves out revoked partitions; after `maxAttempts` the stream errors (a later commit would
 *   otherwise hide the gap). On acknowledgement: `tracker.committed(offsets)`, then the {@link Commit} is
 *   emitted.
 * - An item with a `failed` result that no stage routed (no `routedTo`: `publish` marks the dead letters it
 *   sent; see `routed`) is not finished: the source is unsubscribed, the final commit stops before that
 *   record (exactly at it after `orderedMerge`), then the stream errors with an `UnroutedFailureError` naming
 *   it. This holds for action 'fail' and for a 'dead-letter' that nothing sent.
 * - Source completes: after the in-flight commit, a final commit of what progressed, then complete. Source
 *   errors: the same final commit, then the error. Unsubscribed: the in-flight and final commits still run,
 *   detached (a failure there goes to `config.onUnhandledError`, if set).
 *
 * ```text
 * finished:  a-b-c-d-e-f------|   interval 5; each commit is acknowledged 3 frames after it is sent
 * commit():  -----S--A--S--A       S = sent (a..c at 5; d..f at 11, d having started the timer at 6), A = acked
 * output:    --------1-----2--|    1 = { offsets: [c + 1], reason: 'interval' }, 2 = { offsets: [f + 1], ... }
 * ```
 *
 * @example
 * fromKafka(consumer, { topics: ['orders'] }).pipe(
 *   groupByKeyConcat(r => r.key, r => charge(r)),
 *   commitOffsets({ tracker, commit: offsets => consumer.commitOffsets(offsets) }, { interval: 5_000 }),
 * ).subscribe(commit => log.debug('committed', commit.offsets))
 */
export function commitOffsets<T>(target: CommitTarget, options: CommitOffsetsOptions<T> = {}): OperatorFunction<T, Commit> {
  const {
    interval = 5_000, maxUncommitted = 10_000, originOf = defaultOriginOf as unknown as (item: T) => RecordOrigin,
    backoff = defaultBackoff, maxAttempts = 10, scheduler = asyncScheduler,
  } = options
  rejectRenamed('commitOffsets', options, { batchSize: 'maxUncommitted' })
  validate(target, interval, maxUncommitted, originOf, backoff, maxAttempts, scheduler)

  return (source) => new Observable<Commit>((subscriber) => {
    // Read per subscription: a KafkaSource has a new tracker for each of its subscriptions (retry, repeat).
    const { tracker } = target
    let finished = 0 // records counted toward the commit since the last one was sent
    let due: Commit['reason'] | undefined // a commit is owed, for this reason
    let timer: Subscription | undefined // the interval, running from the first progress
    let sending = false // a commit is in flight, or waiting to be retried
    let ending: { error: unknown } | 'complete' | undefined
    let finalSent = false
    let detached = false // unsubscribed: commit what is left, tell nobody
    let done = false
    let sourceSubscription: Subscription | undefined

    const close = (outcome?: { error: unknown }): void => {
      if (done) return
      done = true
      if (detached) return
      if (outcome !== undefined) subscriber.error(outcome.error)
      else subscriber.complete()
    }

    // Decides the next step whenever no commit is in flight.
    const pump = (): void => {
      if (sending || done) return
      if (ending !== undefined) {
        if (!finalSent) {
          finalSent = true
          attempt('final', 1)
        } else close(ending === 'complete' ? undefined : ending)
      } else if (due !== undefined) {
        const reason = due
        due = undefined
        attempt(reason, 1)
      }
    }

    const attempt = (reason: Commit['reason'], n: number): void => {
      const offsets = tracker.committable()
      finished = 0
      if (offsets.length === 0) {
        sending = false
        return pump()
      }
      sending = true
      const failed = (err: unknown): void => {
        if (n >= maxAttempts) return giveUp(err)
        let delay: number
        try {
          delay = backoff(n)
          if (typeof delay !== 'number' || !(delay >= 0 && delay < Infinity)) {
            throw new RangeError(`commitOffsets: backoff(${n}) returned ${String(delay)}, not a finite delay >= 0`)
          }
        } catch (e) {
          return giveUp(e)
        }
        scheduler.schedule(() => attempt(reason, n + 1), delay)
      }
      const acked = (): void => {
        sending = false
        try {
          tracker.committed(offsets)
        } catch (e) {
          return giveUp(e)
        }
        if (!detached) subscriber.next({ offsets, attempts: n, time: scheduler.now(), reason })
        pump()
      }
      // Not a child of `subscriber`: an unsubscribe must let the commit finish.
      try {
        from(target.commit(offsets)).subscribe({ error: failed, complete: acked })
      } catch (e) {
        failed(e)
      }
    }

    const giveUp = (err: unknown): void => {
      sending = false
      // Nobody listens any more: the next consumer of the partition re-reads from the last commit.
      if (detached) config.onUnhandledError?.(err)
      // A failing source's own error says more than the commit that failed after it.
      close(ending !== undefined && ending !== 'complete' ? ending : { error: err })
    }

    const end = (how: { error: unknown } | 'complete'): void => {
      if (ending !== undefined) return
      ending = how
      timer?.unsubscribe()
      // After a throw of our own the source still runs: stop it before the final commit, not after.
      sourceSubscription?.unsubscribe()
      pump()
    }

    sourceSubscription = source.subscribe({
      next: (item) => {
        if (ending !== undefined || subscriber.closed) return
        let counted: boolean
        try {
          // A failure no stage carried out is not finished work: stop before it (see UnroutedFailureError).
          const failure = unroutedFailureOf(item)
          if (failure !== undefined) return end({ error: new UnroutedFailureError(originOf(item), failure) })
          counted = tracker.finish(originOf(item))
        } catch (err) {
          return end({ error: err })
        }
        if (!counted) return
        if (++finished >= maxUncommitted) {
          due = 'batch'
          timer?.unsubscribe()
          timer = undefined
          pump()
        } else if (timer === undefined && due === undefined) {
          timer = scheduler.schedule(() => {
            timer = undefined
            due ??= 'interval'
            pump()
          }, interval)
        }
      },
      error: (err) => end({ error: err }),
      complete: () => end('complete'),
    })
    if (ending !== undefined) sourceSubscription.unsubscribe() // ended while subscribing

    return () => {
      sourceSubscription?.unsubscribe()
      timer?.unsubscribe()
      if (done) return
      detached = true
      end('complete')
    }
  })
}

function validate(
  target: CommitTarget, interval: number, maxUncommitted: number, originOf: unknown, backoff: unknown,
  maxAttempts: number, scheduler: SchedulerLike,
): void {
  const tracker = target?.tracker as Partial<CommitTracker> | undefined
  if (typeof target?.commit !== 'function' || typeof tracker?.finish !== 'function' ||
      typeof tracker.committable !== 'function' || typeof tracker.committed !== 'function') {
    throw new TypeError('commitOffsets: target must have an OffsetTracker `tracker` and a `commit` function')
  }
  if (typeof interval !== 'number' || !(interval >= 0 && interval < Infinity)) {
    throw new RangeError(`commitOffsets: interval must be a finite number >= 0, got ${String(interval)}`)
  }
  const countOk = (n: number): boolean => n === Infinity || (Number.isSafeInteger(n) && n >= 1)
  if (!countOk(maxUncommitted)) throw new RangeError(`commitOffsets: maxUncommitted must be an integer >= 1 or Infinity, got ${String(maxUncommitted)}`)
  if (!countOk(maxAttempts)) throw new RangeError(`commitOffsets: maxAttempts must be an integer >= 1 or Infinity, got ${String(maxAttempts)}`)
  if (typeof originOf !== 'function') throw new TypeError('commitOffsets: originOf must be a function')
  if (typeof backoff !== 'function') throw new TypeError('commitOffsets: backoff must be a function')
  if (typeof scheduler?.schedule !== 'function' || typeof scheduler.now !== 'function') {
    throw new TypeError('commitOffsets: scheduler must be a SchedulerLike')
  }
}
