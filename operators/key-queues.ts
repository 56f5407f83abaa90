import { from, type Observable, type ObservableInput, type Subscriber, type Subscription } from 'rxjs'
import { cancel, Job, Lane, NO_RESULTS, resultsOf } from './key-lanes'
import type { Processed } from './processed'
import { offerHotKey, type HotKey } from './hot-keys'

/**
 * The state machine behind `groupByKeyConcat`, one per subscription. Internal: exported for the operator and
 * for specs that check its bookkeeping (`keyCount`, `running`), not part of the package's API.
 *
 * Invariants: a lane is findable (in `#keys`, or `#loose`) while it has a queued or running item, and is
 * dropped the moment it has neither; a lane is in the ready list iff it has queued items and nothing
 * running. Work starts only in `#drain` (and its two shortcuts, `#runAtOnce` for an idle key and `#runIdle`
 * when nothing at all is pending), each guarded by `#draining`, so projections that complete synchronously
 * re-enter as constant-depth calls instead of recursing once per item.
 */
export class KeyQueues<T, R, K> {
  readonly #keys = new Map<K, Lane<T, R, K>>()
  /**
   * The lane `push` just created, not yet in `#keys`: when its item completes synchronously (no-op or cached
   * work) the key never touches the map, whose set+delete per item would otherwise dominate that path. Any
   * re-entrant `push` first registers it, so a second item of the key always finds it.
   */
  #loose: Lane<T, R, K> | null = null
  /** A forgotten loose lane, empty, kept for the next new key: an idle key then allocates no lane. */
  #spare: Lane<T, R, K> | null = null
  /** Marks a lane's item as running while `#runAtOnce` projects it (no job of its own unless it goes async). */
  readonly #atOnce: Job<T, R, K> = new Job<T, R, K>(undefined as T, -1, new Lane<T, R, K>(undefined as K, this))
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

  /**
   * The `limit` keys with the most items queued or running, hottest first. Walks every lane's queue, so
   * O(pending items) at the caller's pace (a stats snapshot); nothing is counted per item for it.
   */
  hottestKeys(limit: number): HotKey[] {
    const top: HotKey[] = []
    const offer = (lane: Lane<T, R, K>): void => {
      let count = lane.current !== null ? 1 : 0
      for (let job = lane.head; job !== null; job = job.next_) count++
      if (count > 0) offerHotKey(top, lane.key, count, limit)
    }
    for (const lane of this.#keys.values()) offer(lane)
    if (this.#loose !== null && !this.#loose.registered) offer(this.#loose)
    return top
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
    // Nothing queued or running, and no emission under way: no earlier item of any key is unfinished, so
    // this one may start before its key is known (see `#runIdle`).
    if (this.#pending === 0 && !this.#draining) return this.#runIdle(item, index)
    let key: K
    try {
      key = this.keyOf(item)
    } catch (err) {
      return this.fail(err)
    }
    if (this.#loose !== null) this.#settleLoose(this.#loose)
    let lane = this.#keys.get(key)
    if (lane === undefined) {
      lane = this.#loose = this.#newLane(key)
      // An idle key, a free slot and no key waiting for one: what `#drain` would do at once, without a
      // queue entry. (Keys can wait beside a free slot only briefly: a push from inside `finish`'s emission,
      // before its `#drain` starts them; they go first.)
      if (this.#readyHead === null && !this.#draining && this.#running < this.concurrency) {
        try {
          return this.#runAtOnce(lane, item, index)
        } finally {
          if (this.#loose === lane) this.#settleLoose(lane)
        }
      }
    }
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
    this.#release(job.lane, job.item, job.results ?? NO_RESULTS)
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
    this.#loose = this.#readyHead = this.#readyTail = this.#spare = null
  }

  #newLane(key: K): Lane<T, R, K> {
    const spare = this.#spare
    if (spare === null) return new Lane(key, this)
    this.#spare = null
    spare.key = key
    return spare
  }

  /** The loose lane goes into the map if it still has work, or is forgotten. */
  #settleLoose(lane: Lane<T, R, K>): void {
    this.#loose = null
    if (lane.head !== null || lane.current !== null) {
      lane.registered = true
      this.#keys.set(lane.key, lane)
    } else if (!this.#closed) {
      lane.key = undefined as K // the key is not kept alive by the spare
      this.#spare = lane
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
  #release(lane: Lane<T, R, K>, item: T, results: readonly R[]): void {
    lane.current = null
    if (lane.head !== null) this.#enqueueReady(lane)
    else if (lane.registered) {
      lane.registered = false
      this.#keys.delete(lane.key)
    }
    this.#emit(item, results)
  }

  #emit(item: T, results: readonly R[]): void {
    this.#pending--
    this.destination.next({ item, results })
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
        this.#start(lane, job.item, job.index, job)
      }
    } finally {
      this.#draining = false
    }
    this.#maybeComplete()
  }

  /**
   * Projects an item of the lane, which it now holds: an array (or a skipped item) is done at once, without
   * an Observable and a Subscriber; anything else runs into its job, made here when the item has none yet
   * (an item run at once has no queue entry).
   */
  #start(lane: Lane<T, R, K>, item: T, index: number, job: Job<T, R, K> | null): void {
    // Marked before any user callback runs, so a push of the same key from inside one queues behind it.
    lane.current = job ?? this.#atOnce
    let output: ObservableInput<R> | null
    try {
      output = this.#project(item, index)
    } catch (err) {
      return this.fail(err)
    }
    if (output === null || Array.isArray(output)) return this.#release(lane, item, resultsOf(output))
    job ??= new Job<T, R, K>(item, index, lane)
    lane.current = job
    this.#subscribe(job, output)
  }

  /**
   * `#drain`'s work for the item of a key that was idle while a slot was free and no key waited: started
   * without a queue entry. Guarded like `#drain`: what a push from inside the projection queues starts once
   * it is over.
   */
  #runAtOnce(lane: Lane<T, R, K>, item: T, index: number): void {
    this.#pending++
    this.#draining = true
    try {
      this.#start(lane, item, index, null)
    } finally {
      this.#draining = false
    }
    if (this.#readyHead !== null || this.#sourceDone) this.#drain()
  }

  /**
   * Runs an item that arrived with nothing else pending. Work done at once (an array, or skipped) is emitted
   * without the key ever being computed: no lane, no key lookup. Asynchronous work takes its key's lane like
   * any running item, so that later items of the key wait for it. Guarded like `#drain`: a push from inside
   * the projection queues (with its own key) and starts only once this item is done or holds its lane.
   */
  #runIdle(item: T, index: number): void {
    this.#pending++
    this.#draining = true
    try {
      const output = this.#project(item, index)
      if (output === null || Array.isArray(output)) this.#emit(item, resultsOf(output))
      else this.#runIdleAsync(item, index, output)
    } catch (err) {
      return this.fail(err)
    } finally {
      this.#draining = false
    }
    if (this.#readyHead !== null || this.#sourceDone) this.#drain()
  }

  #runIdleAsync(item: T, index: number, output: ObservableInput<R>): void {
    const key = this.keyOf(item)
    if (this.#loose !== null) this.#settleLoose(this.#loose)
    let lane = this.#keys.get(key)
    // Loose, as in push: an Observable that completes during subscribe never puts the key in the map.
    if (lane === undefined) lane = this.#loose = this.#newLane(key)
    else if (lane.current === null) {
      // Items of the key pushed from inside the projection queued in the ready list; they must wait now.
      this.#unready(lane)
    }
    const job = new Job<T, R, K>(item, index, lane)
    lane.current = job
    try {
      this.#subscribe(job, output)
    } finally {
      if (this.#loose === lane) this.#settleLoose(lane)
    }
  }

  /** Takes a lane out of the ready list (only a lane made by a push from inside `#runIdle`'s projection). */
  #unready(lane: Lane<T, R, K>): void {
    let previous: Lane<T, R, K> | null = null
    for (let at = this.#readyHead; at !== null; previous = at, at = at.nextReady) {
      if (at !== lane) continue
      if (previous === null) this.#readyHead = lane.nextReady
      else previous.nextReady = lane.nextReady
      if (this.#readyTail === lane) this.#readyTail = previous
      lane.nextReady = null
      return
    }
  }

  #project(item: T, index: number): ObservableInput<R> | null {
    return this.skip === undefined || !this.skip(item) ? this.project(item, index) : null
  }

  /** Runs an asynchronous projection into its job. */
  #subscribe(job: Job<T, R, K>, output: ObservableInput<R>): void {
    this.#running++
    // A Promise settles into the job directly (a cancelled job ignores it: `done`).
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
