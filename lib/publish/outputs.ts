/**
 * What `publish` sends for one input: its results turned into messages waiting to be sent (forwards, dead
 * letters) or a fatal error, and those messages grouped for `sendBatch`. Apart from the subscription's
 * state machine (`run.ts`) because it only reads one input and writes the send buffer: no timers,
 * no ordering.
 */
import type { Processed } from '../../operators/processed'
import type { OutputMessage, Result } from '../../operators/result'
import { deadLetterOf, type DeadLetterSource } from './dead-letter'
import { isDecodeFailure } from '../record/decoders'
import { routed } from '../../operators/unrouted-failure'
import { notAResult } from './not-a-result'
import { DecodeFailureError, NoDeadLetterTopicError } from './record-errors'
import type { PipelineMetrics } from '../../operators/pipeline-metrics'
import type { ProducerMessageLike, TopicMessagesLike } from '../client/producer'
import type { PublishSettings } from './options'

/** One input waiting for its outputs: emitted when `outstanding` is 0 and every input before it was. */
export interface Entry<T> {
  /** What is emitted: the input, or a copy whose dead-lettered failures carry `routedTo` (see `addOutputs`). */
  processed: T
  outstanding: number
  fatal?: { error: unknown }
  next?: Entry<T>
}

/** One message waiting in the send buffer, with the input it belongs to. */
export interface Pending { readonly topic: string; readonly message: ProducerMessageLike; readonly entry: Entry<unknown>; readonly deadLetter: boolean }

/**
 * Appends to `buffer` the messages of `entry`'s input (counting them in `entry.outstanding`), or sets
 * `entry.fatal` (a `failed` with action 'fail', a decode failure with `decodeFailures: 'fail'`, a dead letter
 * with no `deadLetterTopic`); results after a fatal one are not read. Messages of the results before a fatal
 * one stay in `buffer`: the caller cuts them off.
 *
 * ```text
 * results: [forward(x), forwardMany([y, z]), drop]  ->  buffer += [x, y, z], outstanding 3
 * results: [failed(e, 'dead-letter')]               ->  buffer += [dead letter of the record], outstanding 1
 * ```
 *
 * @example
 * const entry = { processed, outstanding: 0 }
 * addOutputs(entry, buffer, settings)
 * if (entry.fatal !== undefined) buffer.length = mark
 *
 * @throws {TypeError} For a result that is not a `Result`; whatever `encodeDeadLetter` throws.
 */
export function addOutputs<T extends DeadLetterSource, O extends OutputMessage>(
  entry: Entry<Processed<T, Result<O>>>, buffer: Pending[], settings: PublishSettings,
): void {
  const { item, results } = entry.processed
  if (isDecodeFailure(item)) {
    if (settings.decodeFailures === 'fail') entry.fatal = { error: new DecodeFailureError(item, item.decodeError) }
    else deadLetter(entry, buffer, settings, item, item.decodeError.cause, 0)
  } else {
    const { topic } = settings
    let lettered = false
    for (const result of results) {
      if (entry.fatal !== undefined) break
      if (result === null || typeof result !== 'object') throw notAResult(item, result)
      switch (result.kind) {
        case 'forward': enqueue(entry, buffer, result.message.topic ?? topic, toProducerMessage(result.message)); break
        case 'forward-many': for (const m of result.messages) enqueue(entry, buffer, m.topic ?? topic, toProducerMessage(m)); break
        case 'drop': break
        case 'failed':
          if (result.action === 'fail') entry.fatal = { error: result.error }
          else lettered = deadLetter(entry, buffer, settings, item, result.error, result.attempts) || lettered
          break
        default: throw notAResult(item, result)
      }
    }
    // Emitted only once the letters are acknowledged: then commitOffsets may pass them (plain data, no side table).
    if (lettered && entry.fatal === undefined) entry.processed = { item, results: results.map((r) => markRouted(r, settings.deadLetterTopic!)) }
  }
}

function markRouted<O>(result: Result<O>, to: string): Result<O> {
  return result.kind === 'failed' && result.action === 'dead-letter' && result.routedTo === undefined ? routed(result, to) : result
}

/**
 * A batch's messages grouped per topic for `sendBatch`, each topic's in input order (kafkajs keeps that order
 * within each partition).
 *
 * ```text
 * [a->t1, b->t2, c->t1]  ->  [{ topic: t1, messages: [a, c] }, { topic: t2, messages: [b] }]
 * ```
 *
 * @example
 * producer.sendBatch({ topicMessages: topicMessagesOf(batch), acks: -1 })
 */
export function topicMessagesOf(batch: readonly Pending[]): TopicMessagesLike[] {
  const byTopic = new Map<string, TopicMessagesLike>()
  for (const { topic: t, message } of batch) {
    let group = byTopic.get(t)
    if (group === undefined) byTopic.set(t, (group = { topic: t, messages: [] }))
    group.messages.push(message)
  }
  return [...byTopic.values()]
}

/**
 * Counts an acknowledged batch in `metrics`: dead letters in `deadLetters`, the rest in `published`.
 *
 * ```text
 * batch [x, y, dead letter]  ->  published += 2, deadLetters += 1
 * ```
 *
 * @example
 * if (metrics !== undefined) countAcked(metrics, batch)
 */
export function countAcked(metrics: PipelineMetrics, batch: readonly Pending[]): void {
  let letters = 0
  for (const p of batch) if (p.deadLetter) letters++
  metrics.deadLetters += letters
  metrics.published += batch.length - letters
}

function enqueue(entry: Entry<unknown>, buffer: Pending[], topicOf: string, message: ProducerMessageLike, deadLetter = false): void {
  entry.outstanding++
  buffer.push({ topic: topicOf, message, entry, deadLetter })
}

/** Queues the record's dead letter (true), or sets `entry.fatal` when there is no dead-letter topic (false). */
function deadLetter<T extends DeadLetterSource>(
  entry: Entry<unknown>, buffer: Pending[], settings: PublishSettings, item: T, error: unknown, attempts: number,
): boolean {
  const { deadLetterTopic } = settings
  if (deadLetterTopic === undefined) {
    entry.fatal = { error: new NoDeadLetterTopicError(item, error) }
    return false
  }
  enqueue(entry, buffer, deadLetterTopic, deadLetterOf(item, { error, attempts }, settings.encodeDeadLetter), true)
  return true
}

function toProducerMessage(m: OutputMessage): ProducerMessageLike {
  const out: ProducerMessageLike = { key: m.key, value: m.value as ProducerMessageLike['value'] }
  if (m.partition !== undefined) out.partition = m.partition
  if (m.headers !== undefined) out.headers = { ...m.headers }
  return out
}
