import { offerHotKey, type HotKey } from './hot-keys'

/** What `groupByKeyConcat` lets {@link PipelineMetrics} read at snapshot time: no counting per record. */
export interface KeyGauge {
  /** The `limit` keys with the most items queued or running, hottest first (read at snapshot time only). */
  hottestKeys?(limit: number): readonly HotKey[]
  /** Keys with queued or running work. */
  readonly keyCount: number
  /** Projections running now. */
  readonly running: number
  /** Items received and not yet emitted (running ones included). */
  readonly pending: number
}

/**
 * Counters of one pipeline, made once and passed to the operators that feed it: `groupByKeyConcat`
 * (active keys, running, queued), `withRetry` (retries, exhausted records) and `publish` (messages
 * published, dead letters). `pipelineStats` reads them at every snapshot.
 *
 * Cheap enough to leave on: the counters are plain fields bumped O(1) per event (a retry, an acknowledged
 * message), never per record; the key figures are gauges read only when a snapshot is taken, from every
 * `groupByKeyConcat` subscription registered here (summed, when stages are chained).
 *
 * ```text
 * groupByKeyConcat(..., { metrics })  ──register gauge on subscribe, unregister on teardown──▶ activeKeys, running, queued
 * withRetry(..., { metrics })         ──a failed try to be tried again / tries run out─────▶ retries, exhausted
 * publish(producer, { metrics })      ──messages acknowledged─────────────────────────────▶ published, deadLetters
 * ```
 *
 * @example
 * const metrics = new PipelineMetrics()
 * source.pipe(
 *   groupByKeyConcat(recordKey, withRetry(work, { metrics }), { concurrency: 64, metrics }),
 *   orderedMerge(),
 *   publish(producer, { topic: 'out', deadLetterTopic: 'out-dlt', metrics }),
 *   commitOffsets(source),
 * ).subscribe()
 * pipelineStats(source, { interval: 10_000, metrics }).subscribe((s) => log.info(s))
 */
export class PipelineMetrics {
  /** Failed tries that `withRetry` decided to try again (the first try of a record is not counted). */
  retries = 0
  /** Records whose tries ran out (or whose error was not retryable): each became one `failed` result. */
  exhausted = 0
  /** Forwarded messages `publish` had acknowledged by the broker (dead letters not included). */
  published = 0
  /** Dead letters `publish` had acknowledged by the broker (failed and undecodable records). */
  deadLetters = 0
  readonly #gauges = new Set<KeyGauge>()

  /** Reads `gauge` at every snapshot until the returned function is called (the operator's teardown). */
  register(gauge: KeyGauge): () => void {
    this.#gauges.add(gauge)
    return () => void this.#gauges.delete(gauge)
  }

  /** Keys with queued or running work, over every registered `groupByKeyConcat`. */
  get activeKeys(): number {
    let n = 0
    for (const g of this.#gauges) n += g.keyCount
    return n
  }

  /** Projections running now, over every registered `groupByKeyConcat`. */
  get running(): number {
    let n = 0
    for (const g of this.#gauges) n += g.running
    return n
  }

  /**
   * The `limit` keys with the most records queued or running, hottest first, over every registered
   * `groupByKeyConcat` (a key's counts summed when stages are chained). Walks the queues: call it at
   * snapshot time, not per record.
   */
  hotKeys(limit: number): HotKey[] {
    if (limit <= 0) return []
    const first = this.#gauges.values().next().value
    if (this.#gauges.size === 1) return first?.hottestKeys?.(limit).slice() ?? []
    // Chained stages: each stage's top `limit` summed per key. A key just below the cut in every stage may
    // be missed; the figure is for spotting the customer that holds the pipeline back, not for billing.
    const sums = new Map<unknown, number>()
    for (const g of this.#gauges) for (const { key, count } of g.hottestKeys?.(limit) ?? []) sums.set(key, (sums.get(key) ?? 0) + count)
    const top: HotKey[] = []
    for (const [key, count] of sums) offerHotKey(top, key, count, limit)
    return top
  }

  /** Items waiting behind their key or for a concurrency slot, over every registered `groupByKeyConcat`. */
  get queued(): number {
    let n = 0
    for (const g of this.#gauges) n += g.pending - g.running
    return n
  }
}

/** Call-time check shared by the operators that take `metrics`. */
export function checkMetrics(metrics: unknown, where: string): void {
  if (metrics !== undefined && !(metrics instanceof PipelineMetrics)) {
    throw new TypeError(`${where}: metrics must be a PipelineMetrics when given`)
  }
}
