import { from, type Observable, type ObservableInput, type Observer, type Subscriber, type Subscription } from 'rxjs'
import type { Processed } from './processed'

// Shared by every item that produced nothing: an empty projection or a skipped item allocates no array.
const NO_RESULTS: readonly never[] = Object.freeze([])

/** One key: its queue of waiting items (singly linked) and the item now running, if any. */
class Lane<T, R, K> {
  head: Job<T, R, K> | null = null
  tail: Job<T, R, K> | null = null
  current: Job<T, R, K> | null = null
  /** Link in the machine's round-robin list of lanes waiting for a slot. */
  nextReady: Lane<T, R, K> | null = null
  /** Whether the lane is in the machine's key map (see `KeyQueues.#loose`). */
  registered = false
  constructor(readonly key: K, readonly machine: KeyQueues<T, R, K>) {}
}

/**
 * One item: queue node while it waits, then the observer of its projection. A single object per item keeps
 * allocation (and closures) off the hot path; all fields are set in the constructor so V8 keeps one shape.
 */
class Job<T, R, K> implements Observer<R> {
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

function cancel<T, R, K>(lane: Lane<T, R, K>): void {
  const job = lane.current
  if (job !== null) {
    job.done = true
    job.sub?.unsubscribe()
  }
}

/**
 * The state machine behind `groupByKeyConcat`, one per subscription. Internal: exported for the operator and
 * for specs that check its bookkeeping (`keyCount`, `running`), not part of the package's API.
 *
 * Invariants: a lane is findable (in `#keys`, or `#loose`) while it has a queued or running item, and is
 * dropped the moment it has neither; a lane is in the ready list iff it has queued items and nothing
 * running. Work starts only in `#drain`, a loop guarded by `#draining`, so projections that complete
 * synchronously re-enter as constant-depth calls instead of recursing once per item.
 */
export class KeyQueues<T, R, K> {
  readonly #keys = new Map<K, Lane<T, R, K>>()
  /**
   * The lane `push` just created, not yet in `#keys`: when its item completes synchronously (no-op or cached
   * work) the key never touches the map, whose set+delete per item would otherwise dominate that path. Any
   * re-entrant `push` first registers it, so a second item of the key always finds it.
   */
  #loose: Lane<T, R, K> | null = null
  #readyHead: Lane<T, R, K> | null = null
  #readyTail: Lane<T, R, K> | null = null
  /** Items received and not yet emitted: completion waits for zero. */
  #pending = 0
  #running = 0
  #arrivals = 0
  #draining = false
  #sourceDone = false
  #closed = false
  #sourceSub: Subscription | null = null

  constructor(
    private readonly destination: Subscriber<Processed<T, R>>,
    private readonly keyOf: (item: T) => K,
    private readonly project: (item: T, index: number) => ObservableInput<R>,
    private readonly concurrency: number,
    private readonly skip: ((item: T) => boolean) | undefined,
  ) {}

  /** Keys that have queued or running work (the memory held for keys). */
  get keyCount(): number {
    const loose = this.#loose
    return this.#keys.size + (loose !== null && (loose.head !== null || loose.current !== null) ? 1 : 0)
  }

  /** Projections subscribed and not yet complete. */
  get running(): number {
    return this.#running
  }

  /** Items received and not yet emitted: queued plus running. */
  get pending(): number {
    return this.#pending
  }

  /** Subscribes to `source`; returns the teardown for the enclosing `new Observable(...)`. */
  connect(source: Observable<T>): () => void {
    const sub = source.subscribe({
      next: (item) => this.push(item),
      error: (err) => this.fail(err),
      complete: () => {
        this.#sourceDone = true
        this.#maybeComplete()
      },
    })
    // A synchronous source may have ended us before `subscribe` returned.
    if (this.#closed) sub.unsubscribe()
    else this.#sourceSub = sub
    return () => this.dispose()
  }

  push(item: T): void {
    if (this.#stopped()) return
    const index = this.#arrivals++
    let key: K
    try {
      key = this.keyOf(item)
    } catch (err) {
      return this.fail(err)
    }
    if (this.#loose !== null) this.#settleLoose(this.#loose)
    let lane = this.#keys.get(key)
    if (lane === undefined) lane = this.#loose = new Lane(key, this)
    const job = new Job<T, R, K>(item, index, lane)
    this.#pending++
    if (lane.tail === null) {
      lane.head = lane.tail = job
      if (lane.current === null) this.#enqueueReady(lane)
    } else {
      lane.tail.next_ = job
      lane.tail = job
    }
    try {
      this.#drain()
    } finally {
      if (this.#loose === lane) this.#settleLoose(lane)
    }
  }

  /** Called by a job whose projection completed. */
  finish(job: Job<T, R, K>): void {
    this.#running--
    job.sub = null
    this.#release(job.lane, job, job.results ?? NO_RESULTS)
    this.#drain()
  }

  fail(err: unknown): void {
    if (this.#closed) return
    this.dispose()
    this.destination.error(err)
  }

  /** Cancels running projections, drops queued work and the source. Idempotent. */
  dispose(): void {
    if (this.#closed) return
    this.#closed = true
    this.#sourceSub?.unsubscribe()
    for (const lane of this.#keys.values()) cancel(lane)
    if (this.#loose !== null) cancel(this.#loose)
    this.#keys.clear()
    this.#loose = this.#readyHead = this.#readyTail = null
  }

  /** The loose lane goes into the map if it still has work, or is forgotten. */
  #settleLoose(lane: Lane<T, R, K>): void {
    this.#loose = null
    if (lane.head !== null || lane.current !== null) {
      lane.registered = true
      this.#keys.set(lane.key, lane)
    }
  }

  /**
   * True once we ended, or once the subscriber was closed from downstream (e.g. `take`) while the source is
   * still emitting synchronously inside `connect`: RxJS only runs our teardown after `connect` returns.
   */
  #stopped(): boolean {
    if (!this.#closed && this.destination.closed) this.dispose()
    return this.#closed
  }

  #enqueueReady(lane: Lane<T, R, K>): void {
    if (this.#readyTail === null) this.#readyHead = lane
    else this.#readyTail.nextReady = lane
    this.#readyTail = lane
  }

  /** The lane's item is done: the lane goes to the back of the ready list (round-robin) or away. */
  #release(lane: Lane<T, R, K>, job: Job<T, R, K>, results: readonly R[]): void {
    lane.current = null
    if (lane.head !== null) this.#enqueueReady(lane)
    else if (lane.registered) {
      lane.registered = false
      this.#keys.delete(lane.key)
    }
    this.#pending--
    this.destination.next({ item: job.item, results })
  }

  #drain(): void {
    if (this.#draining) return
    this.#draining = true
    try {
      while (this.#readyHead !== null && this.#running < this.concurrency && !this.#stopped()) {
        const lane = this.#readyHead
        this.#readyHead = lane.nextReady
        if (this.#readyHead === null) this.#readyTail = null
        lane.nextReady = null
        const job = lane.head!
        lane.head = job.next_
        if (lane.head === null) lane.tail = null
        job.next_ = null
        this.#start(lane, job)
      }
    } finally {
      this.#draining = false
    }
    this.#maybeComplete()
  }

  #start(lane: Lane<T, R, K>, job: Job<T, R, K>): void {
    // Marked before any user callback runs, so a push of the same key from inside one queues behind it.
    lane.current = job
    let output: ObservableInput<R> | null = null
    try {
      if (this.skip === undefined || !this.skip(job.item)) output = this.project(job.item, job.index)
    } catch (err) {
      return this.fail(err)
    }
    if (output === null) return this.#release(lane, job, NO_RESULTS)
    // The two commonest projections skip an Observable and its Subscriber per item: an array is done at once,
    // a Promise settles into the job directly (a cancelled job ignores it: `done`).
    if (Array.isArray(output)) return this.#release(lane, job, output.length === 0 ? NO_RESULTS : output.slice())
    this.#running++
    if (output instanceof Promise) {
      output.then(
        (value: R) => {
          job.next(value)
          job.complete()
        },
        (err: unknown) => job.error(err),
      ).then(undefined, (err: unknown) => this.fail(err)) // what the callbacks above threw: never an unhandled rejection
      return
    }
    let input: Observable<R>
    try {
      input = from(output)
    } catch (err) {
      return this.fail(err)
    }
    const sub = input.subscribe(job)
    // A synchronous projection has already finished; one cut short by our own teardown must not linger.
    if (this.#closed) sub.unsubscribe()
    else if (!job.done) job.sub = sub
  }

  #maybeComplete(): void {
    if (this.#sourceDone && this.#pending === 0 && !this.#closed) {
      this.dispose()
      this.destination.complete()
    }
  }
}
