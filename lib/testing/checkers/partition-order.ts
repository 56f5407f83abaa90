import type { RunLog } from '../run-pipeline'
import { describeActor, describeRecord, PipelineViolation } from './violation'

/**
 * Partition order of output: within each process and delivery (epoch), the results `output()` saw of a
 * partition come in strictly increasing offset order: none out of order, none twice. Results emitted after
 * their partition was revoked (or assigned again) are stale: `orderedMerge` lets them through as they come
 * and the commit ignores them, so they are not judged. Throws a {@link PipelineViolation} naming the first result that broke it.
 *
 * ```text
 * output 3, output 5, output 5   ->  partition-order: t/0@5 (key "k") emitted twice by m0 (process 0) in epoch 1
 * ```
 *
 * @example
 * checkPartitionOrder(await runPipeline(world, pipeline))
 */
export function checkPartitionOrder(log: RunLog): void {
  const last = new Map<string, number>()
  for (const e of log.events) {
    if (e.kind !== 'output' || e.stale) continue
    const lane = `${e.process}\u0000${e.topic}\u0000${e.partition}\u0000${e.epoch}`
    const before = last.get(lane)
    if (before === e.offset) {
      throw new PipelineViolation('partition-order', `${describeRecord(e)} emitted twice by ${describeActor(e)} in epoch ${e.epoch}`)
    }
    if (before !== undefined && before > e.offset) {
      throw new PipelineViolation(
        'partition-order',
        `${describeRecord(e)} emitted by ${describeActor(e)} after ${e.topic}/${e.partition}@${before}, a later offset (epoch ${e.epoch})`,
      )
    }
    last.set(lane, e.offset)
  }
}
