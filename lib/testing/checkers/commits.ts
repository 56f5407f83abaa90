import type { RunLog } from '../run-pipeline'
import { describeActor, PipelineViolation } from './violation'

/**
 * Commits: every commit the broker accepted is for a partition its process owned in that generation, and
 * a partition's commits strictly increase within a process and generation and never go back below the
 * group's committed offset. Throws a {@link PipelineViolation} naming the first commit that broke it.
 *
 * ```text
 * m0 gen 2 commits t/0@5, then t/0@5   ->  commits: t/0@5 by m0 (process 0) in generation 2 does not increase (the last was 5)
 * ```
 *
 * @example
 * checkCommits(await runPipeline(world, pipeline))
 */
export function checkCommits(log: RunLog): void {
  const group = new Map<string, number>() // topic/partition -> committed
  const lastOf = new Map<string, number>() // process/generation/topic/partition -> last commit
  for (const e of log.events) {
    if (e.kind !== 'commit') continue
    const where = `${e.topic}/${e.partition}@${e.offset} by ${describeActor(e)} in generation ${e.generation}`
    if (!e.owned) throw new PipelineViolation('commits', `${where}: the partition is not assigned to it`)
    const tp = `${e.topic}/${e.partition}`
    const lane = `${e.process}/${e.generation}/${tp}`
    const last = lastOf.get(lane)
    if (last !== undefined && e.offset <= last) throw new PipelineViolation('commits', `${where} does not increase (the last was ${last})`)
    const committed = group.get(tp)
    if (committed !== undefined && e.offset < committed) throw new PipelineViolation('commits', `${where} goes back below the committed ${committed}`)
    lastOf.set(lane, e.offset)
    group.set(tp, e.offset)
  }
}
