import { config, from, type Observable, type ObservableInput, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs'
import { ArrivalLog } from './batch-arrivals'
import { Batch, BatchError, ItemRef, Lane, RecordJob, type BatchOwner, type Entry } from './batch-parts'
import type { Processed } from './processed'

export { BatchError }

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

/** An error thrown by a consumer inside a Promise callback: reported as RxJS reports those, not swallowed. */
function reportUnhandled(err: unknown): void {
  if (config.onUnhandledError !== null) config.onUnhandledError(err)
  else
    setTimeout(() => {
      throw err
    })
}

/**
 * The state machine behind `batchByKey`, one per subscription. Internal: exported for the operator and for
 * specs that check its bookkeeping, not part of the package's API.
 *
 * Invariants: at most one batch is forming (accepting items); a lane's `holder` is the one unfinished batch
 * with its items, and a lane has waiting items only while its holder is sealed or running; a lane is in
 * `#keys` iff it has a holder or waiting items. A key's waiting items sit in its lane's queue (the older)
 * and in the arrival log (the newer); releasing a lane with items in the log first sorts the whole log into
 * the lanes' queues. Batches start only in `#drain`, a loop guarded by `#draining`, so runs that finish
 * synchronously re-enter at constant depth instead of recursing per batch.
 *
 * One delay timer at most, not one per batch: most batches fill before their delay, and scheduling then
 * cancelling a timer per batch cost more than the rest of the batch's bookkeeping. The timer is armed for the
 * forming batch; if that batch sealed meanwhile, the timer re-arms for the then forming batch's due time.
 */
export class BatchQueues<T, I, R, K> implements BatchOwner<T, I, R, K> {
  readonly #keys = new Map<K, Lane<T, I, R, K>>()
  /** Entries that wait, until a batch finishes and they join their lanes' queues. */
  readonly #waiting = new ArrivalLog<T, I, R, K>()
  /** Without `itemsOf` an entry is the item, which is the record. */
  readonly #plain: boolean
  #forming: Batch<T, I, R, K> | null = null
  #sealedHead: Batch<T, I, R, K> | null = null
  #sealedTail: Batch<T, I, R, K> | null = null
  readonly #running = new Set<Batch<T, I, R, K>>()
  #timer: Subscription | null = null
  /** The batch the timer was armed for: due when it fires, if still forming. */
  #timerFor: Batch<T, I, R, K> | null = null
  /** Records received and not yet emitted: completion waits for zero. */
  #pending = 0
  #draining = false
  #sourceDone = false
  #closed = false
  #sourceSub: Subscription | null = null

  constructor(
    private readonly destination: Subscriber<Processed<T, R>>,
    private readonly s: BatchSettings<T, I, R, K>,
  ) {
    this.#plain = s.itemsOf === undefined
  }

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
      if (!this.#add(record as unknown as I, record as unknown as I)) return
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
      for (let i = 0; i < n; i++) if (!this.#add(items[i]!, new ItemRef(job, i, items[i]!))) return
    }
    // Most pushes only queue an item: skip the drain loop unless a batch could start now.
    if (this.#running.size < this.s.maxConcurrentBatches && (this.#sealedHead !== null || this.#forming?.due === true)) this.#drain()
  }

  /** One item arrives: into the forming batch, or behind its key's unfinished batch. False when keyOf threw. */
  #add(item: I, entry: Entry<T, I, R>): boolean {
    let key: K
    try {
      key = this.s.keyOf(item)
    } catch (err) {
      this.fail(err)
      return false
    }
    let lane = this.#keys.get(key)
    if (lane === undefined) this.#keys.set(key, (lane = new Lane(key)))
    if (!lane.hasWaiting() && (lane.holder === null || lane.holder === this.#forming)) this.#place(lane, item, entry)
    else this.#waiting.append(entry, lane)
    return true
  }

  /** Called by a batch whose run completed. */
  finish(batch: Batch<T, I, R, K>): void {
    this.#running.delete(batch)
    batch.sub = null
    const { entries, results } = batch
    if (results.length !== entries.length) {
      return this.failBatch(batch, new RangeError(`run returned ${results.length} result(s) for ${entries.length} item(s)`))
    }
    // Lanes first: a key's waiting items join the forming batch before the records are emitted, so a
    // downstream that pushes more of the key from `next` queues behind them.
    for (const lane of batch.lanes) this.#release(lane)
    for (let i = 0; i < entries.length && !this.#closed; i++) {
      if (this.#plain) {
        this.#pending--
        this.destination.next({ item: entries[i] as unknown as T, results: [results[i]!] })
        continue
      }
      const { job, index } = entries[i] as ItemRef<T, I, R>
      job.results[index] = results[i]!
      if (--job.remaining === 0) {
        this.#pending--
        this.destination.next({ item: job.record, results: job.results })
      }
    }
    this.#drain()
  }

  failBatch(batch: Batch<T, I, R, K>, cause: unknown): void {
    if (this.#closed) return
    const records = new Set<T>()
    for (const entry of batch.entries) records.add(this.#plain ? (entry as unknown as T) : (entry as ItemRef<T, I, R>).job.record)
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
    this.#timer?.unsubscribe()
    this.#timer = this.#timerFor = null
    for (const batch of this.#running) {
      batch.done = true
      batch.sub?.unsubscribe()
    }
    this.#running.clear()
    this.#keys.clear()
    this.#waiting.clear()
    this.#forming = this.#sealedHead = this.#sealedTail = null
  }

  /** Puts an item into the forming batch (opening one if none). */
  #place(lane: Lane<T, I, R, K>, item: I, entry: Entry<T, I, R>): void {
    let batch = this.#forming
    if (batch === null) batch = this.#open()
    if (lane.holder !== batch) {
      lane.holder = batch
      batch.lanes.push(lane)
    }
    batch.entries.push(entry)
    if (!this.#plain) batch.items.push(item)
    if (batch.entries.length >= this.s.maxBatchSize) this.#seal(batch)
  }

  #open(): Batch<T, I, R, K> {
    const batch = (this.#forming = new Batch(this, this.#plain, this.s.scheduler.now()))
    if (this.#sourceDone) batch.due = true
    else if (this.#timer === null) this.#arm(batch, this.s.accumulationDelay)
    return batch
  }

  #arm(batch: Batch<T, I, R, K>, delay: number): void {
    this.#timerFor = batch
    this.#timer = this.s.scheduler.schedule(() => this.#onTimer(), delay)
  }

  #onTimer(): void {
    const armedFor = this.#timerFor
    this.#timer = this.#timerFor = null
    const batch = this.#forming
    if (batch === null || batch.due) return
    const left = batch.openedAt + this.s.accumulationDelay - this.s.scheduler.now()
    if (batch !== armedFor && left > 0) return this.#arm(batch, left)
    batch.due = true
    this.#drain()
  }

  #seal(batch: Batch<T, I, R, K>): void {
    this.#forming = null
    if (this.#sealedTail === null) this.#sealedHead = batch
    else this.#sealedTail.nextSealed = batch
    this.#sealedTail = batch
  }

  /** The key's batch finished: its waiting items join the forming batch until one of them seals it. */
  #release(lane: Lane<T, I, R, K>): void {
    lane.holder = null
    if (lane.inLog !== 0) this.#waiting.sortIntoLanes()
    // Sorting put every waiting entry of the lane in its queue (nothing arrives during this loop).
    while (lane.waiting !== null && (lane.holder === null || lane.holder === this.#forming)) {
      const batch = this.#forming ?? this.#open()
      if (lane.holder !== batch) {
        lane.holder = batch
        batch.lanes.push(lane)
      }
      // The forming batch is never full (a full one is sealed at once), so each round moves at least one.
      lane.moveInto(batch, this.s.maxBatchSize - batch.entries.length, this.#plain)
      if (batch.entries.length >= this.s.maxBatchSize) this.#seal(batch)
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
    this.#running.add(batch)
    let input: ObservableInput<readonly R[]>
    let observable: Observable<readonly R[]> | null = null
    try {
      input = this.s.run(batch.items)
      if (!(input instanceof Promise)) observable = from(input)
    } catch (err) {
      this.#running.delete(batch)
      batch.done = true
      return this.failBatch(batch, err)
    }
    if (observable === null) {
      // Cancellation needs no subscription here: `dispose` sets `done`, and the batch then ignores the outcome.
      ;(input as Promise<readonly R[]>).then(
        (values) => batch.resolved(values),
        (err: unknown) => batch.error(err),
      ).then(undefined, reportUnhandled)
      return
    }
    const sub = observable.subscribe(batch)
    if (this.#closed) sub.unsubscribe()
    else if (!batch.done) batch.sub = sub
  }
}
