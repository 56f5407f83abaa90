import type { Observer, Subscription } from 'rxjs'

/**
 * The per-key and per-item state of `groupByKeyConcat`'s state machine (`KeyQueues`, key-queues.ts), which
 * owns their lifecycle: a {@link Lane} per key with work, a {@link Job} per waiting or running item.
 */

/** What a lane's jobs report to: the state machine. */
export interface LaneOwner<T, R, K> {
  fail(err: unknown): void
  finish(job: Job<T, R, K>): void
}

// Shared by every item that produced nothing: an empty projection or a skipped item allocates no array.
export const NO_RESULTS: readonly never[] = Object.freeze([])

/** A skipped item's (null) or an array projection's results: a copy, as the caller may reuse its array. */
export function resultsOf<R>(output: readonly R[] | null): readonly R[] {
  return output === null || output.length === 0 ? NO_RESULTS : output.slice()
}

/**
 * One key: its queue of waiting items (singly linked) and the item now running, if any.
 *
 * ```text
 * current: a1 (running)   head -> a2 -> a3 <- tail   (a2, a3 wait for a1, in arrival order)
 * ```
 */
export class Lane<T, R, K> {
  head: Job<T, R, K> | null = null
  tail: Job<T, R, K> | null = null
  current: Job<T, R, K> | null = null
  /** Link in the machine's round-robin list of lanes waiting for a slot. */
  nextReady: Lane<T, R, K> | null = null
  /** Whether the lane is in the machine's key map (see `KeyQueues.#loose`). */
  registered = false
  // Not readonly: an idle lane that never held a job is reused for the next new key (see `KeyQueues.#spare`).
  constructor(public key: K, readonly machine: LaneOwner<T, R, K>) {}
}

/**
 * One item: queue node while it waits, then the observer of its projection. A single object per item keeps
 * allocation (and closures) off the hot path; all fields are set in the constructor so V8 keeps one shape.
 *
 * ```text
 * queued: next_ -> the item behind it      running: next(v) collects v; complete() -> owner.finish(job)
 * ```
 */
export class Job<T, R, K> implements Observer<R> {
  next_: Job<T, R, K> | null = null
  results: R[] | null = null
  sub: Subscription | null = null
  done = false
  constructor(readonly item: T, readonly index: number, readonly lane: Lane<T, R, K>) {}

  next(value: R): void {
    if (this.done) return
    if (this.results === null) this.results = [value]
    else this.results.push(value)
  }
  error(err: unknown): void {
    if (this.done) return
    this.done = true
    this.lane.machine.fail(err)
  }
  complete(): void {
    if (this.done) return
    this.done = true
    this.lane.machine.finish(this)
  }
}

/** Stops the lane's running item, if any: its projection is unsubscribed and its late values ignored. */
export function cancel<T, R, K>(lane: Lane<T, R, K>): void {
  const job = lane.current
  if (job !== null) {
    job.done = true
    job.sub?.unsubscribe()
  }
}
