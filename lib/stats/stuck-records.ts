import { defer, mergeMap, type Observable, type SchedulerLike } from 'rxjs'
import { checkOptions, pipelineStats } from './pipeline-stats'
import type { StatsTarget, StuckRecord } from './sampler'
import { rejectRenamed } from '../../operators/renamed-options'

/** Options of {@link stuckRecords}. */
export interface StuckRecordsOptions {
  /** Ms a record may stay unfinished before it is reported. Required. */
  stuckAfter: number
  /** Ms between checks: a record is reported at the first check after it crossed `stuckAfter`. Default `stuckAfter / 2` (at least 1). */
  interval?: number
  /** Schedules the checks. Default `asyncScheduler`. */
  scheduler?: SchedulerLike
}

/**
 * Stuck-record detection as its own stream: emits each record once, when it has been unfinished for longer
 * than `stuckAfter` ms, with its topic, partition, offset and key. It watches, per partition, the oldest
 * unfinished record (the one holding the commit back; if any record of a partition is stuck, its oldest
 * is): once that one finishes, the next oldest is watched and reported in turn if it is stuck too. The same
 * figures as `pipelineStats(source, { stuckAfter }).stuck`, without repeats.
 *
 * ```text
 * record r delivered at 0, finished at 13; stuckAfter 5, interval 2
 * checks:  --c-c-c-c-c-c-c-    (ages 2, 4, 6, ...)
 * output:  ------r---------    reported once, at the first check with age > 5
 * ```
 *
 * @example
 * stuckRecords(source, { stuckAfter: 60_000 }).subscribe((r) =>
 *   log.warn(`record ${r.topic}[${r.partition}]@${r.offset} (key ${String(r.key)}) unfinished for ${r.ageMs} ms`))
 *
 * @param source A `KafkaSource`, or any `{ tracker }`.
 * @param options `stuckAfter` (required), `interval`, `scheduler`; see {@link StuckRecordsOptions}.
 * @returns A cold Observable of stuck records that never completes.
 * @throws {TypeError|RangeError} At call time, for an invalid source or options.
 */
export function stuckRecords(source: StatsTarget, options: StuckRecordsOptions): Observable<StuckRecord> {
  if (options === null || typeof options !== 'object') throw new TypeError('stuckRecords: options are required')
  rejectRenamed('stuckRecords', options, { after: 'stuckAfter' })
  const { stuckAfter: after, scheduler } = options
  if (typeof after !== 'number' || !(after >= 0 && after < Infinity)) {
    throw new RangeError(`stuckRecords: stuckAfter must be a finite number of ms >= 0, got ${String(after)}`)
  }
  const interval = options.interval ?? Math.max(1, after / 2)
  const stats = { interval, stuckAfter: after, scheduler }
  checkOptions(source, stats, 'stuckRecords')
  return defer(() => {
    // Per partition, the record last reported: bounded by the partitions, not the records.
    const reported = new Map<string, string>()
    return pipelineStats(source, stats).pipe(
      mergeMap((s) => {
        const fresh: StuckRecord[] = []
        for (const r of s.stuck) {
          const where = `${r.topic}\u0000${r.partition}`
          const which = `${r.epoch}:${r.offset}`
          if (reported.get(where) !== which) {
            reported.set(where, which)
            fresh.push(r)
          }
        }
        return fresh
      }),
    )
  })
}
