import { logEnd } from '../in-memory/log-entry'
import type { RunLog } from '../run-pipeline'
import { describeRecord, firstFinishes, PipelineViolation, recordId, recordsOf, workStatus } from './violation'

/**
 * Progress: once the run settled (everything fetched, time run out, every process unsubscribed), each
 * partition's committed offset is its log end (zero lag, trailing transaction markers included). Throws a
 * {@link PipelineViolation} naming the lowest partition that fell short and the record its commit is stuck
 * before.
 *
 * ```text
 * t/0: log end 9, committed 3   ->  progress: t/0 ends committed at 3, its log ends at 9: stuck before t/0@3 (key "k1"), ...
 * ```
 *
 * @example
 * checkProgress(await runPipeline(world, pipeline))
 */
export function checkProgress(log: RunLog): void {
  const finished = firstFinishes(log.events)
  log.world.partitions.forEach((entries, p) => {
    const end = logEnd(entries)
    const committed = log.committed[p]
    if (end === 0 || committed === end) return
    const at = committed ?? 0
    const stuck = recordsOf(log, p).find((r) => r.offset >= at)
    const why =
      stuck === undefined
        ? 'only transaction markers are left'
        : `stuck before ${describeRecord(stuck)}, which ${finished.has(recordId(p, stuck.offset)) ? 'finished but never reached the commit' : `never finished (${workStatus(log.events, p, stuck.offset)})`}`
    throw new PipelineViolation(
      'progress',
      `${log.world.topic}/${p} ends ${committed === undefined ? 'never committed' : `committed at ${committed}`}, its log ends at ${end}: ${why}`,
    )
  })
}
