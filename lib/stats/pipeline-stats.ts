import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs'
import { OffsetTracker } from '../tracker/offset-tracker'
import { PipelineMetrics } from '../../operators/pipeline-metrics'
import { StatsSampler, type PipelineStats, type StatsTarget } from './sampler'

export type { PartitionStats, PipelineStats, StatsTarget, StuckRecord } from './sampler'

/** Options of {@link pipelineStats}. */
export interface PipelineStatsOptions {
  /** Ms between snapshots (the window of the rates). Required. */
  interval: number
  /** Counters fed by `groupByKeyConcat`, `withRetry` and `publish`: keys, retries, dead letters. Default: none. */
  metrics?: PipelineMetrics
  /**
   * Ms after which a partition's oldest unfinished record is reported in `stuck`. Default: never (Infinity).
   * Ages come from the tracker's clock (`Date.now` for a `KafkaSource`).
   */
  stuckAfter?: number
  /** How many of the hottest keys (most records queued or running) each snapshot lists in `hotKeys`; 0 for none. Default 5. */
  hotKeys?: number
  /** Schedules the snapshots and gives their `time`. Default `asyncScheduler`. */
  scheduler?: SchedulerLike
}

/**
 * Live stats of a pipeline: every `interval` ms one {@link PipelineStats} snapshot of `source` (a
 * `KafkaSource`, or any `{ tracker }` such as a `CommitTarget`) and of `metrics`: records delivered and
 * finished per second over the last interval, records in flight, active keys / running / queued and the
 * hottest keys (most records queued or running, with their counts; walked at snapshot time only), retries
 * and dead letters, and per owned partition the delivered, finished and committed offsets, high watermark,
 * lag, oldest unfinished record and its age, and whether fetching is paused.
 *
 * Stuck records: with `stuckAfter`, `stuck` lists per partition the oldest unfinished record when it has
 * been unfinished for longer than that, with its key and offset. Per partition it is the one to report:
 * records are delivered in order, so if any record of a partition is stuck its oldest is, and that one
 * holds the partition's commit back. (`stuckRecords` emits each such record once.)
 *
 * Cheap enough to leave on: nothing is done per record for it beyond what the tracker always keeps (its
 * counts, and a reference to each unfinished record for the stuck record's key); a snapshot reads
 * O(partitions + chained groupByKeyConcat stages) figures once per interval. Cold: each
 * subscription has its own timer; the first snapshot comes one interval after subscribing; unsubscribing
 * stops it. Subscribe to it beside the pipeline, not inside it.
 *
 * ```text
 * pipeline:  -d-d-f-d-f-f----      d = delivered, f = finished (interval 5)
 * stats:     -----s----s----s      s = snapshot: counts so far, rates over the last 5 frames
 * ```
 *
 * @example
 * const metrics = new PipelineMetrics()
 * const source = fromKafka(consumer, { topics: ['orders'] })
 * source.pipe(
 *   groupByKeyConcat(recordKey, withRetry(charge, { metrics }), { concurrency: 256, metrics }),
 *   orderedMerge(),
 *   commitOffsets(source),
 * ).subscribe()
 * pipelineStats(source, { interval: 10_000, metrics, stuckAfter: 60_000 }).subscribe((s) => {
 *   log.info({ perSecond: s.finishedPerSecond, inFlight: s.inFlight, lag: s.partitions.map((p) => p.lag) })
 *   for (const r of s.stuck) log.warn(`stuck ${r.topic}[${r.partition}]@${r.offset} key ${String(r.key)} for ${r.ageMs} ms`)
 * })
 *
 * @param source What to read: a `KafkaSource` (adds high watermarks and paused partitions) or any `{ tracker }`.
 * @param options `interval` (required), `metrics`, `stuckAfter`, `scheduler`; see {@link PipelineStatsOptions}.
 * @returns A cold Observable of snapshots that never completes.
 * @throws {TypeError|RangeError} At call time, for an invalid source or options.
 */
export function pipelineStats(source: StatsTarget, options: PipelineStatsOptions): Observable<PipelineStats> {
  const { interval, metrics, stuckAfter, hotKeys, scheduler = asyncScheduler } = checkOptions(source, options, 'pipelineStats')
  return new Observable<PipelineStats>((subscriber) => {
    const sampler = new StatsSampler(source, { metrics, stuckAfter, hotKeys }, scheduler.now())
    return scheduler.schedule(function tick() {
      let stats: PipelineStats
      try {
        stats = sampler.sample(scheduler.now())
      } catch (error) {
        subscriber.error(error)
        return
      }
      subscriber.next(stats)
      this.schedule(undefined, interval)
    }, interval)
  })
}

/** Call-time checks shared with `stuckRecords`. */
export function checkOptions(source: StatsTarget, options: PipelineStatsOptions, where: string): PipelineStatsOptions {
  if (source === null || typeof source !== 'object' || !(source.tracker instanceof OffsetTracker)) {
    throw new TypeError(`${where}: source must be a KafkaSource or an object with an OffsetTracker as tracker`)
  }
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options are required`)
  const { interval, metrics, stuckAfter, hotKeys, scheduler } = options
  if (hotKeys !== undefined && !(Number.isSafeInteger(hotKeys) && hotKeys >= 0)) {
    throw new RangeError(`${where}: hotKeys must be an integer >= 0, got ${String(hotKeys)}`)
  }
  if (typeof interval !== 'number' || !(interval > 0 && interval < 2 ** 31)) {
    throw new RangeError(`${where}: interval must be a number of ms > 0, got ${String(interval)}`)
  }
  if (metrics !== undefined && !(metrics instanceof PipelineMetrics)) {
    throw new TypeError(`${where}: metrics must be a PipelineMetrics when given`)
  }
  if (stuckAfter !== undefined && (typeof stuckAfter !== 'number' || !(stuckAfter >= 0))) {
    throw new RangeError(`${where}: stuckAfter must be a number of ms >= 0, got ${String(stuckAfter)}`)
  }
  if (scheduler !== undefined && (scheduler === null || typeof scheduler.schedule !== 'function')) {
    throw new TypeError(`${where}: scheduler must be an RxJS scheduler`)
  }
  return options
}
