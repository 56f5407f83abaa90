/**
 * What every Node case of the kafka benchmark measures with: the {@link Clock} (records counted, the span from
 * the group join to the last record, CPU and eachBatch time, and for some cases the bytes allocated), the
 * consumer wired to it, and the tracker-based count of the kafka-rx cases.
 */
import { performance } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs'
import type { OffsetTracker } from '../../lib/tracker/offset-tracker'
import type { CaseSpec } from './cases'

/** Counts processed records; `done` resolves at the target count (or the sample time), `ms` is the span. */
export class Clock {
  count = 0
  #first = 0
  #last = 0
  #cpuFirst: NodeJS.CpuUsage | undefined
  #cpuSpan: NodeJS.CpuUsage | undefined
  #resolve!: () => void
  #reject!: (error: unknown) => void
  readonly done = new Promise<void>((resolve, reject) => {
    this.#resolve = resolve
    this.#reject = reject
  })
  #sampleTimer: NodeJS.Timeout | undefined
  #batchStart = 0
  /** Wall ms inside eachBatch calls within the span (see CaseResult.each_batch_us_per_record). */
  eachBatchMs = 0
  /** Bytes of the Fetch responses the consumer received within the span (kafkajs's REQUEST events). */
  fetchedBytes = 0
  /** False when the consumer's shutdown did not finish in time (kafka-rx cases). */
  closed = true
  // Set by the cases that report bytes allocated per record (see HeapGrowth); undefined for the others.
  #heap: HeapGrowth | undefined

  /** Sample the heap over the span, for `allocatedBytes` (before the span starts). */
  measureAllocation(): void {
    this.#heap ??= new HeapGrowth()
  }

  /** Bytes the process allocated over the span (a lower bound, see HeapGrowth), or undefined when not measured. */
  get allocatedBytes(): number | undefined {
    return this.#heap?.bytes
  }

  /** Transactions committed within the span (the exactly-once cases); undefined for the others. */
  transactions: number | undefined

  /** Count transactions (exactly-once cases, before the span starts). */
  countTransactions(): void {
    this.transactions ??= 0
  }

  /** One transaction committed: counted while the span is open. */
  transactionCommitted(): void {
    if (this.transactions !== undefined && this.#first !== 0 && this.#last === 0) this.transactions++
  }

  constructor(readonly target: number, readonly sampleMs: number | undefined) {}

  started(): void {
    if (this.#first !== 0) return
    this.#first = performance.now()
    this.#cpuFirst = process.cpuUsage()
    this.#heap?.start()
  }

  processed(n: number): void {
    if (this.#last !== 0) return
    // The sample window opens at the first record processed (a slow first fetch must not leave it empty).
    if (this.count === 0 && this.sampleMs !== undefined) this.#sampleTimer = setTimeout(() => this.#finish(), this.sampleMs)
    this.count += n
    if (this.count >= this.target) this.#finish()
  }

  fail(error: unknown): void {
    this.#reject(error)
  }

  batchStarted(): void {
    if (this.#first !== 0 && this.#last === 0) this.#batchStart = performance.now()
  }

  batchEnded(): void {
    if (this.#batchStart === 0) return
    // A batch during which the span ended counts up to the end.
    const end = this.#last === 0 ? performance.now() : Math.min(performance.now(), this.#last)
    this.eachBatchMs += Math.max(0, end - this.#batchStart)
    this.#batchStart = 0
  }

  /** A Fetch response of `bytes` arrived; counted within the span only. */
  fetched(bytes: number): void {
    if (this.#first !== 0 && this.#last === 0) this.fetchedBytes += bytes
  }

  get finished(): boolean {
    return this.#last !== 0
  }

  get ms(): number {
    return this.#last - this.#first
  }

  /** CPU ms (user + system) of the process over the span. */
  get cpuMs(): number {
    const span = this.#cpuSpan
    return span === undefined ? 0 : (span.user + span.system) / 1000
  }

  #finish(): void {
    if (this.#last !== 0) return
    this.#last = performance.now()
    this.#cpuSpan = process.cpuUsage(this.#cpuFirst)
    this.#heap?.stop()
    clearTimeout(this.#sampleTimer)
    this.#resolve()
  }
}

export function made(kafka: Kafka, spec: CaseSpec, clock: Clock, extra: Partial<ConsumerConfig> = {}): Consumer {
  const c = kafka.consumer({ groupId: spec.groupId, ...extra })
  c.on(c.events.GROUP_JOIN, () => clock.started())
  c.on(c.events.START_BATCH_PROCESS, () => clock.batchStarted())
  c.on(c.events.END_BATCH_PROCESS, () => clock.batchEnded())
  // One event per request, not per record: what a case fetched again (a batch handed back) shows here.
  c.on(c.events.REQUEST, ({ payload }) => {
    if (payload.apiName === 'Fetch') clock.fetched(payload.size)
  })
  return c
}

/**
 * Counts the records the pipeline finished (commitOffsets finishes each in the tracker) every millisecond,
 * rather than with an operator of the bench's own in the pipeline: the raw case counts per batch, so a
 * per-record stage here would charge kafka-rx for the bench's counting. The last record is seen at most
 * about a millisecond late, which counts against kafka-rx.
 */
export function countFinished(tracker: OffsetTracker, clock: Clock): NodeJS.Timeout {
  let counted = 0
  return setInterval(() => {
    const finished = tracker.totalFinished
    if (finished > counted) clock.processed(finished - counted)
    counted = finished
  }, 1)
}

/**
 * Bytes allocated on the V8 heap over a span, from the heap's used size sampled every millisecond: the sum
 * of its rises. A sample interval in which a collection ran shows a fall and adds nothing, so this is a lower
 * bound, short by about the allocation of one interval per collection (a few per cent at most for a young
 * generation collected every few MB). Buffers' bytes outside the heap (message payloads) are not counted.
 */
class HeapGrowth {
  bytes = 0
  #last = 0
  #timer: NodeJS.Timeout | undefined

  start(): void {
    this.#last = getHeapStatistics().used_heap_size
    this.#timer = setInterval(() => this.#sample(), 1)
  }

  stop(): void {
    this.#sample()
    clearInterval(this.#timer)
  }

  #sample(): void {
    const used = getHeapStatistics().used_heap_size
    if (used > this.#last) this.bytes += used - this.#last
    this.#last = used
  }
}

// Bounded: a shutdown that hangs is reported (closed: false; the lag check then shows what the final
// commit missed) rather than hanging the whole suite.
const CLOSE_TIMEOUT_MS = 15_000

/**
 * Waits for a kafka-rx case's run to end (`clock.done`), counting finished records meanwhile, then
 * unsubscribes (the source's shutdown makes the final commit, stops and disconnects the consumer) and
 * records in `clock.closed` whether that shutdown ended within 15 s.
 *
 * @example
 * await runToEnd(source, source.pipe(...).subscribe({ error: (e) => clock.fail(e) }), clock)
 */
export async function runToEnd(source: { tracker: OffsetTracker; closed(): Promise<void> }, subscription: { unsubscribe(): void }, clock: Clock): Promise<void> {
  const counting = countFinished(source.tracker, clock)
  try {
    await clock.done
  } finally {
    clearInterval(counting)
    subscription.unsubscribe()
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS).unref())
    clock.closed = await Promise.race([source.closed().then(() => true), timeout])
  }
}

/**
 * Counts a hand-written case's batch by offsets, not messages, into `clock`: a batch fetched again after a
 * rejoin is not counted twice. `next` holds the next offset counted per partition.
 *
 * @example
 * eachBatch: async ({ batch }) => countBatch(next, batch, clock)
 */
export function countBatch(next: Map<number, bigint>, batch: { partition: number; lastOffset(): string }, clock: Clock): void {
  const before = next.get(batch.partition) ?? 0n
  const after = BigInt(batch.lastOffset()) + 1n
  if (after <= before) return
  next.set(batch.partition, after)
  clock.processed(Number(after - before))
}
