import { KafkaRxError, retriableCause, textOf } from './kafka-rx-error'
import type { Failed } from './result'
import type { RecordOrigin } from './record-origin'

/**
 * The first `failed` result of a `Processed` item that no stage routed (no `routedTo`), else undefined. A
 * record item (no `results`) and results that are not objects have none. Runs once per item on the commit
 * path: one pass over the item's results, no allocation.
 *
 * ```text
 * { item, results: [forward(x)] }                       -> undefined
 * { item, results: [failed(e, 3, 'fail')] }             -> that failure: commitOffsets stops before the record
 * { item, results: [routed(failed(e, 3), 'orders-dlt')] } -> undefined: publish sent its dead letter
 * ```
 *
 * @example
 * const failure = unroutedFailureOf(item)
 * if (failure !== undefined) throw new UnroutedFailureError(originOf(item), failure)
 */
export function unroutedFailureOf(item: unknown): Failed | undefined {
  const results = (item as { results?: unknown } | null)?.results
  if (!Array.isArray(results)) return undefined
  for (const r of results as unknown[]) {
    if (r !== null && typeof r === 'object' && (r as Failed).kind === 'failed' && (r as Failed).routedTo === undefined) {
      return r as Failed
    }
  }
  return undefined
}

/**
 * `failure` marked as carried out by a stage that routed it (`to` names where: a dead-letter topic, a table).
 * `publish` marks each dead letter it had acknowledged; a stage of your own that stores failures does the same
 * so that `commitOffsets` may commit past them. Plain data: a copy with `routedTo` set.
 *
 * @example
 * map((p) => ({ ...p, results: p.results.map((r) => r.kind === 'failed' ? routed(r, 'failures-table') : r) }))
 */
export function routed(failure: Failed, to: string): Failed {
  if (typeof to !== 'string' || to === '') throw new TypeError(`routed: 'to' must name where the failure went, got ${String(to)}`)
  return { ...failure, routedTo: to }
}

/**
 * `commitOffsets` received a record whose work failed (a `failed` result) and that no stage routed: nothing
 * at or after it is committed in its partition, and the stream errors with this. `record` names the
 * record, `failure` is the result (its `error` is also this error's `cause`).
 *
 * Not retriable unless the failure's own error says it is (a `retriable: true` flag, as kafkajs errors and
 * your own may carry): the work already ran its attempts, and a run again re-delivers the same record.
 */
export class UnroutedFailureError extends KafkaRxError {
  override readonly name = 'UnroutedFailureError'
  /** Where the record came from, and its key when the item carries one. */
  readonly record: { readonly topic: string; readonly partition: number; readonly offset: string; readonly key: unknown }
  readonly failure: Failed

  constructor(origin: RecordOrigin, failure: Failed) {
    const key = (origin as { key?: unknown }).key
    const what = failure.action === 'fail'
      ? `with action 'fail'`
      : `with action 'dead-letter', but no stage routed it (publish with a deadLetterTopic does)`
    super(
      `commitOffsets: record ${origin.topic}/${origin.partition}@${origin.offset} (key ${previewKey(key)}) failed ` +
      `after ${failure.attempts} attempt(s) (${describe(failure.error)}) ${what}: the commit of ` +
      `${origin.topic}/${origin.partition} stops before offset ${origin.offset}`,
      { stage: 'commitOffsets', retriable: retriableCause(failure.error, false), cause: failure.error },
    )
    this.record = { topic: origin.topic, partition: origin.partition, offset: origin.offset, key }
    this.failure = failure
  }
}

function previewKey(key: unknown): string {
  if (key === undefined) return 'unknown'
  if (key === null) return 'null'
  const text = Buffer.isBuffer(key) ? `<Buffer ${key.toString('hex').slice(0, 32)}>` : typeof key === 'string' ? JSON.stringify(key) : textOf(key)
  return text.length > 80 ? `${text.slice(0, 79)}…` : text
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  } catch {
    return '(error not printable)'
  }
}
