import type { OffsetTracker } from '../tracker/offset-tracker'
import { offsetValue, type PartitionProgress } from '../tracker/partition-progress'
import type { PipelineMetrics } from '../../operators/pipeline-metrics'
import type { HotKey } from '../../operators/hot-keys'
import type { RecordOrigin } from '../record/record'

/**
 * What `pipelineStats` reads: a tracker (any `CommitTarget`), and from a `KafkaSource` also the high
 * watermarks and paused partitions. `tracker` is read at every snapshot: a `KafkaSource` has a new one for
 * each subscription.
 */
export interface StatsTarget {
  readonly tracker: OffsetTracker
  highWatermark?(topic: string, partition: number): string | undefined
  isPaused?(topic: string, partition: number): boolean
}

/**
 * One owned partition in a {@link PipelineStats} snapshot: the tracker's {@link PartitionProgress} figures
 * (counts of the current epoch, offsets as strings), plus what the source knows. The record itself is not
 * in it (see `stuck` for the oldest one's key), only its offset.
 */
export interface PartitionStats extends Omit<PartitionProgress, 'oldestUnfinished'> {
  /** The broker's high watermark as of the last fetched batch (a `KafkaSource` only). */
  readonly highWatermark: string | undefined
  /**
   * `highWatermark - committed`, when both are known: what a restart would read again or for the first time.
   * Undefined (unknown) while no commit was acknowledged in this epoch: a lag is never computed from a guess.
   */
  readonly lag: number | undefined
  readonly oldestUnfinishedOffset: string | undefined
  /** Fetching paused for the in-flight budget (a `KafkaSource` only; else false). */
  readonly paused: boolean
}

/** A partition's oldest unfinished record, unfinished for longer than `stuckAfter`: it holds the commit back. */
export interface StuckRecord {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
  readonly offset: string
  /** The record's key as delivered (decoded), or undefined for a record without one. */
  readonly key: unknown
  readonly ageMs: number
}

/** One snapshot of a pipeline, as `pipelineStats` emits it. */
export interface PipelineStats {
  /** `scheduler.now()` when taken. */
  readonly time: number
  /** Ms since the previous snapshot (or since subscribing): the window of the rates. */
  readonly intervalMs: number
  /** Records finished (completed, dropped or dead-lettered) per second over the last interval. */
  readonly finishedPerSecond: number
  /** Records delivered per second over the last interval. */
  readonly deliveredPerSecond: number
  /** Records delivered and not finished, revoked partitions' included. */
  readonly inFlight: number
  /** From `metrics`, else undefined: keys with work, projections running, items waiting. */
  readonly activeKeys: number | undefined
  readonly running: number | undefined
  readonly queued: number | undefined
  /**
   * From `metrics`, else undefined: the keys with the most records queued or running in `groupByKeyConcat`,
   * hottest first, at most `hotKeys` of them (default 5): which customer holds the pipeline back.
   */
  readonly hotKeys: readonly HotKey[] | undefined
  /** From `metrics`, else undefined: totals since the metrics were made. */
  readonly retries: number | undefined
  readonly exhausted: number | undefined
  readonly published: number | undefined
  readonly deadLetters: number | undefined
  readonly partitions: readonly PartitionStats[]
  /** Per partition, its oldest unfinished record when older than `stuckAfter`; empty without `stuckAfter`. */
  readonly stuck: readonly StuckRecord[]
}

/** How many hot keys a snapshot lists unless told otherwise. */
export const DEFAULT_HOT_KEYS = 5

/**
 * Makes {@link PipelineStats} snapshots of one target: the O(partitions) read behind `pipelineStats`,
 * remembering the previous snapshot's totals for the rates. Internal (exported for specs and the benchmark).
 *
 * @example
 * const sampler = new StatsSampler({ tracker }, { stuckAfter: 30_000 }, Date.now())
 * sampler.sample(Date.now()).partitions
 */
export class StatsSampler {
  readonly #target: StatsTarget
  readonly #metrics: PipelineMetrics | undefined
  readonly #stuckAfter: number
  readonly #hotKeys: number
  #tracker: OffsetTracker | undefined
  #time: number
  #delivered = 0
  #finished = 0

  constructor(target: StatsTarget, options: { metrics?: PipelineMetrics; stuckAfter?: number; hotKeys?: number }, start: number) {
    this.#target = target
    this.#metrics = options.metrics
    this.#stuckAfter = options.stuckAfter ?? Infinity
    this.#hotKeys = options.hotKeys ?? DEFAULT_HOT_KEYS
    this.#time = start
    this.#tracker = target.tracker
    this.#delivered = this.#tracker.totalDelivered
    this.#finished = this.#tracker.totalFinished
  }

  sample(now: number): PipelineStats {
    const target = this.#target
    const tracker = target.tracker
    // A new tracker (a new subscription of the source) counts from zero.
    if (tracker !== this.#tracker) {
      this.#tracker = tracker
      this.#delivered = this.#finished = 0
    }
    const elapsed = now - this.#time
    const perSecond = (count: number): number => (elapsed > 0 ? (count * 1000) / elapsed : 0)
    const delivered = tracker.totalDelivered
    const finished = tracker.totalFinished
    const deliveredPerSecond = perSecond(delivered - this.#delivered)
    const finishedPerSecond = perSecond(finished - this.#finished)
    this.#time = now
    this.#delivered = delivered
    this.#finished = finished

    const partitions: PartitionStats[] = []
    const stuck: StuckRecord[] = []
    for (const p of tracker.partitions()) {
      const highWatermark = target.highWatermark?.(p.topic, p.partition)
      // The tracker's figures as they are (PartitionStats extends them), the record itself left out.
      const { oldestUnfinished: oldest, ...progress } = p
      partitions.push({
        ...progress,
        highWatermark, lag: lagOf(highWatermark, p.committed),
        oldestUnfinishedOffset: oldest?.offset,
        paused: target.isPaused?.(p.topic, p.partition) === true,
      })
      const ageMs = p.oldestUnfinishedAgeMs
      if (oldest !== undefined && ageMs !== undefined && ageMs > this.#stuckAfter) {
        stuck.push({ topic: p.topic, partition: p.partition, epoch: p.epoch, offset: oldest.offset, key: keyOf(oldest), ageMs })
      }
    }
    const m = this.#metrics
    return {
      time: now, intervalMs: elapsed, finishedPerSecond, deliveredPerSecond, inFlight: tracker.inFlight,
      activeKeys: m?.activeKeys, running: m?.running, queued: m?.queued, hotKeys: m?.hotKeys(this.#hotKeys),
      retries: m?.retries, exhausted: m?.exhausted, published: m?.published, deadLetters: m?.deadLetters,
      partitions, stuck,
    }
  }
}

function lagOf(highWatermark: string | undefined, committed: string | undefined): number | undefined {
  if (highWatermark === undefined || committed === undefined) return undefined
  const hw = offsetValue(highWatermark)
  const c = offsetValue(committed)
  return hw < 0 || c < 0 ? undefined : hw - c
}

function keyOf(record: RecordOrigin): unknown {
  return (record as { key?: unknown }).key
}
