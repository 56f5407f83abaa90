import type { RunLog } from '../run-pipeline'
import { describeRecord, firstFinishes, PipelineViolation, recordId, recordsOf, workStatus } from './violation'

/**
 * Nothing lost across restarts: by the end of the run every record of the log finished at least once (its
 * work done, or dropped on purpose), whichever process did it. Throws a {@link PipelineViolation} naming the
 * lowest record (by partition, then offset) that never finished.
 *
 * ```text
 * t/0: 0 done, 1 (never started), 2 done   ->  nothing-lost: t/0@1 (key "k") never finished: its work never started
 * ```
 *
 * @example
 * checkNothingLost(await runPipeline(world, pipeline))
 */
export function checkNothingLost(log: RunLog): void {
  const finished = firstFinishes(log.events)
  for (let p = 0; p < log.world.partitions.length; p++) {
    const lost = recordsOf(log, p).find((r) => !finished.has(recordId(p, r.offset)))
    if (lost !== undefined) {
      throw new PipelineViolation('nothing-lost', `${describeRecord(lost)} never finished: ${workStatus(log.events, p, lost.offset)}`)
    }
  }
}
