/**
 * The `publish` operator: its contract, in the doc below. Its options are in `publish-options.ts`, what one
 * input sends in `outputs.ts`, and the state machine of a subscription in `run.ts`.
 */
import { Observable, type MonoTypeOperatorFunction } from 'rxjs'
import type { Processed } from '../../operators/processed'
import type { OutputMessage, Result } from '../../operators/result'
import type { DeadLetterSource } from './dead-letter'
import type { KafkaProducerLike } from '../client/producer'
import { publishSettings, type PublishOptions } from './options'
import { runPublish } from './run'

export type { PublishOptions } from './options'

/**
 * Produces the results of each record (`Processed<record, Result>`, after `orderedMerge`) and emits each input
 * once ALL its outputs are acknowledged, in input order, so that `commitOffsets` downstream never commits a
 * record whose outputs are not durable.
 *
 * - `forward` / `forward-many`: messages go to `topic` (or their own), batched: a batch leaves when it holds
 *   `maxBatchSize` messages or `linger` ms after its first message. One batch is in flight at a time, so a batch
 *   retried after a failure can never be overtaken by a later one: per output partition, messages are written
 *   in input order (one key keeps one partition unless a message pins another).
 * - `drop`, or no results: finished at once (still emitted in its turn).
 * - `failed` with action 'dead-letter', and a `DecodeFailure` input: the original record goes to
 *   `deadLetterTopic` with headers naming source topic, partition, offset, error and attempts
 *   (`DEAD_LETTER_HEADERS`); finished once that is acknowledged.
 * - `failed` with action 'fail' (or a decode failure with `decodeFailures: 'fail'`): later inputs are
 *   ignored, what came before is flushed, and once every earlier input was emitted the source is
 *   unsubscribed and the stream errors with the record's error. Nothing at or after it is emitted, so the
 *   commit stops exactly before it.
 * - A failed `sendBatch` is retried whole after `backoff(attempt)`; after `maxAttempts`, or at once for a
 *   failure the producer marks `retriable: false` (kafkajs's retries ran out), the stream errors with a
 *   `PublishSendError` naming the batch's topics: publish's tries never multiply kafkajs's own.
 * - A dead letter it sent is emitted with its `failed` result marked `routedTo: deadLetterTopic`, so that
 *   `commitOffsets` commits past it (it never passes an unrouted failure).
 *   Retries may write a message twice (at-least-once): use an idempotent producer to avoid that.
 * - Source completes: the last batch leaves at once; completes once all is emitted. Source errors: the same
 *   drain, then the error. A bad input (not a `Result`, an encoder that throws) errors once the send in
 *   flight settled. Unsubscribing drops what is not yet sent (an in-flight send finishes unheard).
 * - **The producer is yours**: `publish` never connects or disconnects it. Once the stream has completed or
 *   errored, no `sendBatch` of it is in flight any more, so disconnect it after the whole pipeline ended
 *   (for a graceful shutdown: abort `fromKafka`'s `signal`, wait for the end and for `source.closed()`,
 *   then `producer.disconnect()`; see the second example). After an unsubscribe, a send may still be out:
 *   disconnecting then may fail that send, which only means its records are not committed (read again).
 *
 * ```text
 * input:   a-b-c----|      a = forward(x), b = drop, c = forwardMany([y, z]); linger 2
 * send:    --S---S          S = sendBatch([x]) at 2 (acked at 3), sendBatch([y, z]) at 6 (source done, acked at 7)
 * output:  ---(ab)---(c|)   b waits for a: inputs leave in order
 * ```
 *
 * @example
 * source.pipe(
 *   groupByKeyConcat(recordKey, withRetry(r => enrich(r).then(v => forward({ key: r.key, value: v }))), { concurrency: 64 }),
 *   orderedMerge(),
 *   publish(producer, { topic: 'orders-enriched', deadLetterTopic: 'orders-dlt' }),
 *   commitOffsets(source),
 * ).subscribe()
 *
 * @example
 * // Graceful shutdown: the consumer makes its final commit and disconnects, then the producer goes.
 * const controller = new AbortController()
 * process.once('SIGTERM', () => controller.abort())
 * const source = fromKafka(consumer, { topics: ['orders'], signal: controller.signal, drainTimeout: 10_000 })
 * const pipeline = source.pipe(groupByKeyConcat(recordKey, work), orderedMerge(), publish(producer, { topic: 'out' }), commitOffsets(source))
 * try {
 *   await lastValueFrom(pipeline, { defaultValue: undefined }) // ends after the drain (or a DrainTimeoutError)
 * } finally {
 *   await source.closed() // final commit acknowledged, consumer disconnected
 *   await producer.disconnect()
 * }
 *
 * @param producer A connected kafkajs `Producer` (ideally `idempotent: true`), or anything with `sendBatch`.
 * @param options Topics, batching, retries; see {@link PublishOptions}.
 * @returns An operator emitting each input, unchanged, once finished.
 * @throws {TypeError|RangeError} At call time, for invalid options.
 */
export function publish<T extends DeadLetterSource, O extends OutputMessage>(
  producer: KafkaProducerLike, options: PublishOptions,
): MonoTypeOperatorFunction<Processed<T, Result<O>>> {
  const settings = publishSettings(producer, options)
  return (source) => new Observable<Processed<T, Result<O>>>((subscriber) => runPublish(source, subscriber, producer, settings))
}
