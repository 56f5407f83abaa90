import {
  from,
  type Observable,
  type ObservableInput,
  type Observer,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
} from 'rxjs'
import type { Processed } from './processed'

const NO_RESULTS: readonly never[] = Object.freeze([])

/**
 * A batch failed: `run` threw, errored, or returned a number of results other than the batch's size. Carries
 * what failed so a failure policy (dead letters, retries) can act on exactly those records and items.
 *
 * @example
 * ```ts
 * records$.pipe(batchByKey(r => r.key, writeMany)).subscribe({
 *   error: (err) => { if (err instanceof BatchError) console.error('not written:', err.records.length, err.cause) },
 * })
 * ```
 */
export class BatchError<T = unknown, I = unknown> extends Error {
  override readonly name = 'BatchError'
  constructor(
    /** Every record with at least one item in the failed batch, in the order their first item entered it. */
    readonly records: readonly T[],
    /** The failed batch, as `run` received it. */
    readonly items: readonly I[],
    /** What `run` threw or emitted as error, or the RangeError for a wrong number of results. */
    override readonly cause: unknown,
  ) {
    super(`batch of ${items.length} item(s) from ${records.length} record(s) failed: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/**
 * A record with `itemsOf`: how many of its items have not yet run, and their results by item position.
 * Records without `itemsOf` have no job: their one item node stands for them, so the common path keeps one
 * object per waiting record (what the garbage collector must trace while 100,000s of records wait).
 */
class RecordJob<T, R> {
  constructor(
    readonly record: T,
    public remaining: number,
    readonly results: R[],
  ) {}
}

/** One item, from arrival until its batch finished; also the node of its lane's waiting queue. */
class ItemNode<T, I, R, K> {
  next_: ItemNode<T, I, R, K> | null = null
  constructor(
    /** The item's record, or null when the item is the record (no `itemsOf`). */
    readonly job: RecordJob<T, R> | null,
    readonly index: number,
    readonly item: I,
    readonly lane: Lane<T, I, R, K>,
  ) {}
}

/**
 * One key. `holder` is the unfinished batch holding the key's items (forming, sealed or running); while it is
 * not the forming batch, the key's new items wait in the lane, so a key is never in two running batches.
 */
class Lane<T, I, R, K> {
  head: ItemNode<T, I, R, K> | null = null
  tail: ItemNode<T, I, R, K> | null = null
  holder: Batch<T, I, R, K> | null = null
  constructor(readonly key: K) {}
}

/** A batch, from its first item until `run`'s results came back; also the observer of that run. */
class Batch<T, I, R, K> implements Observer<readonly R[]> {
  readonly nodes: ItemNode<T, I, R, K>[] = []
  readonly items: I[] = []
  /** The distinct lanes of `nodes`, released together when the batch finishes. */
  readonly lanes: Lane<T, I, R, K>[] = []
  results: readonly R[] = NO_RESULTS
  /** Link in the machine's FIFO of sealed batches waiting for a slot. */
  nextSealed: Batch<T, I, R, K> | null = null
  timer: Subscription | null = null
  sub: Subscription | null = null
  /** The accumulation delay since the first item passed (or the source completed): may start. */
  due = false
  done = false
  constructor(readonly machine: BatchQueues<T, I, R, K>) {}

  next(values: readonly R[]): void {
    if (this.done) return
    // One array (a Promise's) is kept as is; only a run emitting several arrays pays for concatenation.
    if (this.results === NO_RESULTS) this.results = values
    else this.results = this.results.concat(values)
  }
  error(err: unknown): void {
    if (this.done) return
    this.done = true
    this.machine.failBatch(this, err)
  }
  complete(): void {
    if (this.done) return
    this.done = true
    this.machine.finish(this)
  }
}

/** The settings of one `batchByKey` operator, validated. */
export interface BatchSettings<T, I, R, K> {
  readonly keyOf: (item: I) => K
  readonly run: (batch: readonly I[]) => ObservableInput<readonly R[]>
  readonly itemsOf: ((record: T) => readonly I[]) | undefined
  readonly maxBatchSize: number
  readonly maxConcurrentBatches: number
  readonly accumulationDelay: number
  readonly scheduler: SchedulerLike
}

/**
 * The state machine behind `batchByKey`, one per subscription. Internal: exported for the operator and for
 * specs that check its bookkeeping, not part of the package's API.
 *
 * Invariants: at most one batch is forming (accepting items); a lane's `holder` is the one unfinished batch
 * with its items, and a lane has waiting items only while its holder is sealed or running; a lane is in
 * `#keys` iff it has a holder or waiting items. Batches start only in `#drain`, a loop guarded by
 * `#draining`, so runs that finish synchronously re-enter at constant depth instead of recursing per batch.
 */
export class BatchQueues<T, I, R, K> {
  readonly #keys = new Map<K, Lane<T, I, R, K>>()
  #forming: Batch<T, I, R, K> | null = null
  #sealedHead: Batch<T, I, R, K> | null = null
  #sealedTail: Batch<T, I, R, K> | null = null
  readonly #running = new Set<Batch<T, I, R, K>>()
  /** Records received and not yet emitted: completion waits for zero. */
  #pending = 0
  #draining = false
  #sourceDone = false
  #closed = false
  #sourceSub: Subscription | null = null

  constructor(
    private readonly destination: Subscriber<Processed<T, R>>,
    private readonly s: BatchSettings<T, I, R, K>,
  ) {}

  /** Subscribes to `source`; returns the teardown for the enclosing `new Observable(...)`. */
  connect(source: Observable<T>): () => void {
    const sub = source.subscribe({
      next: (record) => this.push(record),
      error: (err) => this.fail(err),
      complete: () => {
        this.#sourceDone = true
        // Nothing more can join the forming batch: waiting out its delay would only add latency.
        if (this.#forming !== null) this.#forming.due = true
        this.#drain()
      },
    })
    if (this.#closed) sub.unsubscribe()
    else this.#sourceSub = sub
    return () => this.dispose()
  }

  push(record: T): void {
    if (this.#stopped()) return
    this.#pending++
    if (this.s.itemsOf === undefined) {
      if (!this.#add(null, 0, record as unknown as I)) return
    } else {
      let items: readonly I[]
      try {
        items = this.s.itemsOf(record)
      } catch (err) {
        return this.fail(err)
      }
      const n = items.length
      const job = new RecordJob<T, R>(record, n, new Array<R>(n))
      if (n === 0) {
        this.#pending--
        this.destination.next({ item: record, results: job.results })
      }
      for (let i = 0; i < n; i++) if (!this.#add(job, i, items[i]!)) return
    }
    this.#drain()
  }

  /** One item arrives: into the forming batch, or behind its key's unfinished batch. False when keyOf threw. */
  #add(job: RecordJob<T, R> | null, index: number, item: I): boolean {
    let key: K
    try {
      key = this.s.keyOf(item)
    } catch (err) {
      this.fail(err)
      return false
    }
    let lane = this.#keys.get(key)
    if (lane === undefined) this.#keys.set(key, (lane = new Lane(key)))
    const node = new ItemNode(job, index, item, lane)
    if (lane.head === null && (lane.holder === null || lane.holder === this.#forming)) this.#place(node)
    else if (lane.tail === null) lane.head = lane.tail = node
    else lane.tail = lane.tail.next_ = node
    return true
  }

  /** Called by a batch whose run completed. */
  finish(batch: Batch<T, I, R, K>): void {
    this.#running.delete(batch)
    batch.sub = null
    const { nodes, results } = batch
    if (results.length !== nodes.length) {
      return this.failBatch(batch, new RangeError(`run returned ${results.length} result(s) for ${nodes.length} item(s)`))
    }
    // Lanes first: a key's waiting items join the forming batch before the records are emitted, so a
    // downstream that pushes more of the key from `next` queues behind them.
    for (const lane of batch.lanes) this.#release(lane)
    for (let i = 0; i < nodes.length && !this.#closed; i++) {
      const node = nodes[i]!
      const job = node.job
      if (job === null) {
        this.#pending--
        this.destination.next({ item: node.item as unknown as T, results: [results[i]!] })
      } else {
        job.results[node.index] = results[i]!
        if (--job.remaining === 0) {
          this.#pending--
          this.destination.next({ item: job.record, results: job.results })
        }
      }
    }
    this.#drain()
  }

  failBatch(batch: Batch<T, I, R, K>, cause: unknown): void {
    if (this.#closed) return
    const records = new Set<T>()
    for (const node of batch.nodes) records.add(node.job === null ? (node.item as unknown as T) : node.job.record)
    this.fail(new BatchError<T, I>([...records], batch.items, cause))
  }

  fail(err: unknown): void {
    if (this.#closed) return
    this.dispose()
    this.destination.error(err)
  }

  /** Cancels running batches and the delay timer, drops waiting items and the source. Idempotent. */
  dispose(): void {
    if (this.#closed) return
    this.#closed = true
    this.#sourceSub?.unsubscribe()
    this.#forming?.timer?.unsubscribe()
    for (const batch of this.#running) {
      batch.done = true
      batch.sub?.unsubscribe()
    }
    this.#running.clear()
    this.#keys.clear()
    this.#forming = this.#sealedHead = this.#sealedTail = null
  }

  /** Puts an item into the forming batch (opening one, with its delay timer, if none). */
  #place(node: ItemNode<T, I, R, K>): void {
    let batch = this.#forming
    if (batch === null) {
      batch = this.#forming = new Batch(this)
      if (this.#sourceDone) batch.due = true
      else batch.timer = this.s.scheduler.schedule(() => this.#onDelay(batch!), this.s.accumulationDelay)
    }
    const lane = node.lane
    if (lane.holder !== batch) {
      lane.holder = batch
      batch.lanes.push(lane)
    }
    batch.nodes.push(node)
    batch.items.push(node.item)
    if (batch.items.length >= this.s.maxBatchSize) this.#seal(batch)
  }

  #onDelay(batch: Batch<T, I, R, K>): void {
    batch.timer = null
    batch.due = true
    this.#drain()
  }

  #seal(batch: Batch<T, I, R, K>): void {
    this.#forming = null
    batch.timer?.unsubscribe()
    batch.timer = null
    if (this.#sealedTail === null) this.#sealedHead = batch
    else this.#sealedTail.nextSealed = batch
    this.#sealedTail = batch
  }

  /** The key's batch finished: its waiting items join the forming batch until one of them seals it. */
  #release(lane: Lane<T, I, R, K>): void {
    lane.holder = null
    while (lane.head !== null && (lane.holder === null || lane.holder === this.#forming)) {
      const node = lane.head
      lane.head = node.next_
      if (lane.head === null) lane.tail = null
      node.next_ = null
      this.#place(node)
    }
    if (lane.holder === null) this.#keys.delete(lane.key)
  }

  #stopped(): boolean {
    if (!this.#closed && this.destination.closed) this.dispose()
    return this.#closed
  }

  #drain(): void {
    if (this.#draining) return
    this.#draining = true
    try {
      while (this.#running.size < this.s.maxConcurrentBatches && !this.#stopped()) {
        let batch = this.#sealedHead
        if (batch !== null) {
          this.#sealedHead = batch.nextSealed
          if (this.#sealedHead === null) this.#sealedTail = null
          batch.nextSealed = null
        } else if (this.#forming !== null && this.#forming.due) {
          batch = this.#forming
          this.#forming = null
        } else break
        this.#start(batch)
      }
    } finally {
      this.#draining = false
    }
    if (this.#sourceDone && this.#pending === 0 && !this.#closed) {
      this.dispose()
      this.destination.complete()
    }
  }

  #start(batch: Batch<T, I, R, K>): void {
    batch.timer?.unsubscribe()
    batch.timer = null
    this.#running.add(batch)
    let input: Observable<readonly R[]>
    try {
      input = from(this.s.run(batch.items))
    } catch (err) {
      this.#running.delete(batch)
      batch.done = true
      return this.failBatch(batch, err)
    }
    const sub = input.subscribe(batch)
    if (this.#closed) sub.unsubscribe()
    else if (!batch.done) batch.sub = sub
  }
}
