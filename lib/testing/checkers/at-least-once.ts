import type { RunLog } from '../run-pipeline'
import { describeActor, describeRecord, firstFinishes, PipelineViolation, recordId, recordsOf, workStatus } from './violation'

/**
 * At-least-once: when the broker accepts a commit of offset `c`, every record of the partition below `c`
 * has finished (its work done, or dropped on purpose), by some process, before that commit. Throws a
 * {@link PipelineViolation} naming the first such commit and the lowest record it passes.
 *
 * ```text
 * work-done 0, work-failed 1, work-done 2, commit 3   ->  at-least-once: commit t/0@3 ... passes t/0@1 (key "k") ...
 * ```
 *
 * @example
 * checkAtLeastOnce(await runPipeline(world, pipeline))
 */
export function checkAtLeastOnce(log: RunLog): void {
  const finished = firstFinishes(log.events)
  const records = log.world.partitions.map((_, p) => recordsOf(log, p))
  log.events.forEach((e, i) => {
    if (e.kind !== 'commit' || e.topic !== log.world.topic) return
    const passed = (records[e.partition] ?? []).find((r) => r.offset < e.offset && (finished.get(recordId(r.partition, r.offset)) ?? Infinity) > i)
    if (passed === undefined) return
    throw new PipelineViolation(
      'at-least-once',
      `commit ${e.topic}/${e.partition}@${e.offset} by ${describeActor(e)} passes ${describeRecord(passed)}, ` +
        `which had not finished: ${workStatus(log.events, passed.partition, passed.offset, i)}`,
    )
  })
}
