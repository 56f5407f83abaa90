import type { RunLog } from '../run-pipeline'
import type { RecordRef, RunEvent } from '../in-memory/run-events'

/** The checkers, by the invariant each one states. */
export type CheckerName = 'commits' | 'at-least-once' | 'key-order' | 'partition-order' | 'progress' | 'nothing-lost'

/** What a checker throws: the invariant that broke (`checker`) and the smallest counterexample, in words. */
export class PipelineViolation extends Error {
  constructor(readonly checker: CheckerName, readonly detail: string) {
    super(`${checker}: ${detail}`)
    this.name = 'PipelineViolation'
  }
}

/** `t/0@4 (key "k1")`: a record as the messages name it. */
export function describeRecord(r: Pick<RecordRef, 'topic' | 'partition' | 'offset' | 'key'>): string {
  return `${r.topic}/${r.partition}@${r.offset} (key ${r.key === null ? 'null' : JSON.stringify(r.key)})`
}

/** `m0 (process 3)`. */
export function describeActor(e: { member: string; process: number }): string {
  return `${e.member} (process ${e.process})`
}

/** `p@offset`, the records' identity across processes and deliveries. */
export const recordId = (partition: number, offset: number): string => `${partition}@${offset}`

/** Index in the log of each record's first finish (`work-done` or `drop`), by {@link recordId}. */
export function firstFinishes(events: readonly RunEvent[]): Map<string, number> {
  const finished = new Map<string, number>()
  events.forEach((e, i) => {
    if (e.kind !== 'work-done' && e.kind !== 'drop') return
    const id = recordId(e.partition, e.offset)
    if (!finished.has(id)) finished.set(id, i)
  })
  return finished
}

/** What happened to a record's work before event `before`: why it is not finished. */
export function workStatus(events: readonly RunEvent[], partition: number, offset: number, before = events.length): string {
  let started = 0
  let failed = 0
  let running = 0
  for (let i = 0; i < before; i++) {
    const e = events[i]!
    if (!('offset' in e) || e.partition !== partition || e.offset !== offset) continue
    if (e.kind === 'work-start') (started++, running++)
    else if (e.kind === 'work-failed') (failed++, running--)
    else if (e.kind === 'work-done') running--
  }
  if (started === 0) return 'its work never started'
  if (failed > 0 && running <= 0) return `its work failed ${failed === 1 ? 'once' : `${failed} times`} and never succeeded`
  return 'its work was still running'
}

/** The log's records (markers left out) of one partition, by offset. */
export function recordsOf(log: RunLog, partition: number): RecordRef[] {
  return (log.world.partitions[partition] ?? [])
    .filter((e) => e.control !== true)
    .map((e) => ({ topic: log.world.topic, partition, offset: e.offset, key: e.key }))
}
