import type { RunLog } from '../run-pipeline'
import type { RunEvent } from '../in-memory/run-events'
import { describeActor, describeRecord, PipelineViolation } from './violation'

type WorkEvent = Extract<RunEvent, { kind: 'work-start' | 'work-done' | 'work-failed' }>

/**
 * Key order, within each process: a record's work starts only once the work of every other record of its
 * key has ended, and, within one delivery (epoch), never before the work of an earlier record of its key
 * started. A `null` key is one key per partition. Throws a {@link PipelineViolation} naming the first start
 * that broke it, and the record it overlapped or overtook.
 *
 * ```text
 * start k1@3, start k1@5, done k1@5, done k1@3   ->  key-order: t/0@5 (key "k1") started by m0 ... while t/0@3 (key "k1") was still running
 * ```
 *
 * @example
 * checkKeyOrder(await runPipeline(world, pipeline))
 */
export function checkKeyOrder(log: RunLog): void {
  const running = new Map<string, WorkEvent[]>() // process + key -> works started and not ended
  const lastStart = new Map<string, WorkEvent>() // process + key + epoch -> the latest start
  const keyOf = (e: WorkEvent): string => `${e.process}\u0000${e.key === null ? `null@${e.partition}` : `k:${e.key}`}`
  for (const e of log.events) {
    if (e.kind !== 'work-start' && e.kind !== 'work-done' && e.kind !== 'work-failed') continue
    const w: WorkEvent = e
    const key = keyOf(w)
    const works = running.get(key) ?? []
    if (e.kind !== 'work-start') {
      const i = works.findIndex((r) => r.partition === w.partition && r.offset === w.offset && r.epoch === w.epoch)
      if (i >= 0) works.splice(i, 1)
      continue
    }
    const overlapped = works[0]
    if (overlapped !== undefined) {
      throw new PipelineViolation('key-order', `${describeRecord(w)} started by ${describeActor(w)} while ${describeRecord(overlapped)} was still running`)
    }
    const delivery = `${key}\u0000${w.partition}\u0000${w.epoch}`
    const before = lastStart.get(delivery)
    if (before !== undefined && before.offset > w.offset) {
      throw new PipelineViolation('key-order', `${describeRecord(w)} started by ${describeActor(w)} after ${describeRecord(before)}, a later record of its key`)
    }
    lastStart.set(delivery, w)
    works.push(w)
    running.set(key, works)
  }
}
