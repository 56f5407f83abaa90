import { defer, map, NEVER, tap, timer, type MonoTypeOperatorFunction, type Observable, type SchedulerLike } from 'rxjs'
import { originOf } from '../../operators/origin-of'
import type { RecordOrigin } from '../../operators/record-origin'
import type { LogEntry } from './in-memory/log-entry'
import type { Actor, RecordRef, RunEvent } from './in-memory/run-events'

/** What a pipeline under test gets besides its source: virtual time, and the world's work and logging hooks. */
export interface PipelineContext {
  /** The world's virtual clock: give it to `commitOffsets`, `timer`, `delay`... so a run is deterministic. */
  readonly scheduler: SchedulerLike
  /** The member this process is (e.g. `'m0'`). */
  readonly member: string
  /**
   * The record's work, as the world scripted it: completes after the record's latency in virtual time, or
   * errors with a {@link WorkFailure} for its first `failures` attempts. Cold: each subscription is one
   * attempt (so `retry()` retries). Logged (start, done, failed): the checkers read what happened from it.
   */
  work(record: RecordOrigin): Observable<void>
  /** Marks a record as deliberately dropped (it counts as finished, e.g. an undecodable one you skip). */
  drop(record: RecordOrigin): void
  /**
   * Logs each item (a record or a `Processed` envelope) as a result leaving the pipeline, in emission
   * order: put it where results leave your pipeline, e.g. just before `commitOffsets`.
   */
  output<T extends RecordOrigin | { readonly item: RecordOrigin }>(): MonoTypeOperatorFunction<T>
}

/** The error of a scripted work failure. */
export class WorkFailure extends Error {
  constructor(readonly record: RecordRef, readonly attempt: number) {
    super(`work of ${record.topic}/${record.partition}@${record.offset} failed (attempt ${attempt + 1}, scripted)`)
    this.name = 'WorkFailure'
  }
}

/** Shared by every process of a run: the log, and each record's attempts so far. */
export interface RunState {
  readonly events: RunEvent[]
  readonly attempts: Map<string, number>
  entry(topic: string, partition: number, offset: number): LogEntry | undefined
}

/**
 * The context of one process. `alive()` turns false when the process is killed: a dead process logs
 * nothing more and its work never ends (its subscription is being torn down).
 */
export function pipelineContext(
  actor: Actor,
  scheduler: SchedulerLike,
  state: RunState,
  alive: () => boolean,
  isStale: (record: RecordOrigin) => boolean,
): PipelineContext {
  const ref = (r: RecordOrigin): RecordRef & { epoch: number } => {
    const offset = Number(r.offset)
    const key = state.entry(r.topic, r.partition, offset)?.key ?? null
    return { topic: r.topic, partition: r.partition, offset, key, epoch: r.epoch }
  }
  const log = (kind: 'work-start' | 'work-done' | 'work-failed' | 'drop', r: RecordOrigin): void => {
    if (alive()) state.events.push({ ...actor, kind, ...ref(r) })
  }
  return {
    scheduler,
    member: actor.member,
    work: (record) =>
      defer(() => {
        if (!alive()) return NEVER
        const r = ref(record)
        const entry = state.entry(r.topic, r.partition, r.offset)
        const id = `${r.topic}/${r.partition}@${r.offset}`
        const attempt = state.attempts.get(id) ?? 0
        state.attempts.set(id, attempt + 1)
        log('work-start', record)
        return timer(Math.max(0, entry?.latency ?? 1), scheduler).pipe(
          map(() => {
            if (attempt < (entry?.failures ?? 0)) {
              log('work-failed', record)
              throw new WorkFailure(r, attempt)
            }
            log('work-done', record)
          }),
        )
      }),
    drop: (record) => log('drop', record),
    output: <T extends RecordOrigin | { readonly item: RecordOrigin }>() =>
      tap<T>((item) => {
        const origin = originOf(item as RecordOrigin)
        if (alive()) state.events.push({ ...actor, kind: 'output', ...ref(origin), stale: isStale(origin) })
      }),
  }
}
