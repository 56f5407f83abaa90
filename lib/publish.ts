import {
  Observable, asyncScheduler, from, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription,
} from 'rxjs'
import type { Processed } from '../operators/processed'
import type { OutputMessage, Result } from '../operators/result'
import { deadLetterOf, defaultDeadLetterEncoder, type DeadLetterEncoder, type DeadLetterSource } from './dead-letter'
import { isDecodeFailure } from './decoders'
import { checkMetrics, type PipelineMetrics } from './pipeline-metrics'
import type { KafkaProducerLike, ProducerMessageLike, TopicMessagesLike } from './producer-client'

/** Options of {@link publish}. */
export interface PublishOptions {
  /** Where forwarded messages go unless a message names its own `topic`. */
  topic: string
  /** Where failed records (and, by default, undecodable ones) go. Without it a record to dead-letter errors the stream. */
  deadLetterTopic?: string
  /** What to do with a `DecodeFailure` from the source. Default 'dead-letter'. */
  decodeFailures?: 'dead-letter' | 'fail'
  /** Ms a message may wait for more to join its batch. Default 5. */
  lingerMs?: number
  /** Most messages per `sendBatch`; a full batch goes at once. Default 500. */
  batchSize?: number
  /** Passed to `sendBatch`. Default -1 (all in-sync replicas): the input is finished only once outputs are durable. */
  acks?: number
  /** Tries per batch; once exhausted the stream errors with the last failure. Default 10. */
  maxAttempts?: number
  /** Ms to wait before retry `attempt` (1-based). Default `min(100 * 2^(attempt - 1), 10000)`. */
  backoff?: (attempt: number) => number
  /** Encodes the key or value of a dead letter whose record has no `rawKey`/`rawValue` (one not from `fromKafka`). Default: Buffers and strings as is, else JSON. */
  encodeDeadLetter?: DeadLetterEncoder
  /** Schedules linger and retries. Default `asyncScheduler`. */
  scheduler?: SchedulerLike
  /** Counts acknowledged messages (`published`) and dead letters (`deadLetters`), for `pipelineStats`. Default: none. */
  metrics?: PipelineMetrics
}

/** One input waiting for its outputs: emitted when `outstanding` is 0 and every input before it was. */
interface Entry<T> {
  readonly processed: T
  outstanding: number
  fatal?: { error: unknown }
  next?: Entry<T>
}

interface Pending { readonly topic: string; readonly message: ProducerMessageLike; readonly entry: Entry<unknown>; readonly deadLetter: boolean }

const defaultBackoff = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 10_000)

/**
 * Produces the results of each record (`Processed<record, Result>`, after `orderedMerge`) and emits each input
 * once ALL its outputs are acknowledged, in input order, so that `commitOffsets` downstream never commits a
 * record whose outputs are not durable.
 *
 * - `forward` / `forward-many`: messages go to `topic` (or their own), batched: a batch leaves when it holds
 *   `batchSize` messages or `lingerMs` after its first message. One batch is in flight at a time, so a batch
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
 * - A failed `sendBatch` is retried whole after `backoff(attempt)`; after `maxAttempts` the stream errors.
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
 * input:   a-b-c----|      a = forward(x), b = drop, c = forwardMany([y, z]); lingerMs 2
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
  const {
    topic, deadLetterTopic, decodeFailures = 'dead-letter', lingerMs = 5, batchSize = 500, acks = -1,
    maxAttempts = 10, backoff = defaultBackoff, encodeDeadLetter = defaultDeadLetterEncoder, scheduler = asyncScheduler, metrics,
  } = options
  validate(producer, options, lingerMs, batchSize, maxAttempts)
  checkMetrics(metrics, 'publish')

  return (source) => new Observable<Processed<T, Result<O>>>((subscriber) => {
    type E = Entry<Processed<T, Result<O>>>
    let head: E | undefined
    let tail: E | undefined
    let buffer: Pending[] = [] // messages not yet sent, from `bufferHead` on
    let bufferHead = 0
    let sending = false
    let flushDue = false // the linger ran out (or the stream ends) while a batch was in flight
    let linger: Subscription | undefined
    let retryTimer: Subscription | undefined
    let ending: { error: unknown } | 'complete' | 'fatal' | undefined
    let broken: { error: unknown } | undefined // a throw of ours: errors once no send is in flight
    let done = false

    const close = (error?: { error: unknown }): void => {
      if (done) return
      done = true
      linger?.unsubscribe()
      retryTimer?.unsubscribe()
      sourceSubscription?.unsubscribe()
      if (error !== undefined) subscriber.error(error.error)
      else subscriber.complete()
    }

    // Emits finished inputs from the head, in order; ends the stream once the queue is empty.
    const drain = (): void => {
      while (head !== undefined && head.outstanding === 0 && !done) {
        if (head.fatal !== undefined) return close(head.fatal)
        const entry = head
        head = entry.next
        if (head === undefined) tail = undefined
        subscriber.next(entry.processed)
      }
      if (head === undefined && ending !== undefined && ending !== 'fatal' && !done) {
        close(ending === 'complete' ? undefined : ending)
      }
    }

    const flush = (): void => {
      linger?.unsubscribe()
      linger = undefined
      if (bufferHead === buffer.length || done) return
      if (sending) {
        flushDue = true
        return
      }
      const batch = buffer.slice(bufferHead, bufferHead + batchSize)
      bufferHead += batch.length
      if (bufferHead === buffer.length) {
        buffer = []
        bufferHead = 0
      }
      send(batch, 1)
    }

    const send = (batch: Pending[], attempt: number): void => {
      sending = true
      // Messages of one topic stay in input order; kafkajs keeps that order within each partition.
      const byTopic = new Map<string, TopicMessagesLike>()
      for (const { topic: t, message } of batch) {
        let group = byTopic.get(t)
        if (group === undefined) byTopic.set(t, (group = { topic: t, messages: [] }))
        group.messages.push(message)
      }
      const failedSend = (err: unknown): void => {
        if (done) return
        if (broken !== undefined) return close(broken)
        let delay: number
        try {
          if (attempt >= maxAttempts) throw err
          delay = backoff(attempt)
          if (typeof delay !== 'number' || !(delay >= 0 && delay < Infinity)) {
            throw new RangeError(`publish: backoff(${attempt}) returned ${String(delay)}, not a finite delay >= 0`)
          }
        } catch (e) {
          return close({ error: e })
        }
        retryTimer = scheduler.schedule(() => {
          retryTimer = undefined
          send(batch, attempt + 1)
        }, delay)
      }
      const acked = (): void => {
        if (done) return
        sending = false
        for (const p of batch) p.entry.outstanding--
        if (metrics !== undefined) countAcked(metrics, batch)
        drain()
        if (broken !== undefined) return close(broken)
        const waiting = buffer.length - bufferHead
        if (flushDue || waiting >= batchSize || (ending !== undefined && waiting > 0)) {
          flushDue = false
          flush()
        }
        // What is left waited a whole send already (a full batch cancels the linger): it goes next, at once
        // after this send if one is out, else when the linger ends. Without this it would wait for more input.
        if (buffer.length > bufferHead) {
          if (sending) flushDue = true
          else linger ??= scheduler.schedule(flush, lingerMs)
        }
      }
      try {
        from(producer.sendBatch({ topicMessages: [...byTopic.values()], acks })).subscribe({ error: failedSend, complete: acked })
      } catch (e) {
        failedSend(e)
      }
    }

    const enqueue = (entry: E, topicOf: string, message: ProducerMessageLike, deadLetter = false): void => {
      entry.outstanding++
      buffer.push({ topic: topicOf, message, entry: entry as Entry<unknown>, deadLetter })
    }

    const deadLetter = (entry: E, item: T, error: unknown, attempts: number): void => {
      if (deadLetterTopic === undefined) {
        entry.fatal = { error: new Error(`publish: record ${item.topic}/${item.partition}@${item.offset} is to be dead-lettered but no deadLetterTopic is set`, { cause: error }) }
      } else enqueue(entry, deadLetterTopic, deadLetterOf(item, { error, attempts }, encodeDeadLetter), true)
    }

    const accept = (processed: Processed<T, Result<O>>): void => {
      const entry: E = { processed, outstanding: 0 }
      const { item, results } = processed
      const mark = buffer.length
      if (isDecodeFailure(item)) {
        if (decodeFailures === 'fail') entry.fatal = { error: item.decodeError.cause }
        else deadLetter(entry, item, item.decodeError.cause, 0)
      } else {
        for (const result of results) {
          if (entry.fatal !== undefined) break
          switch (result.kind) {
            case 'forward': enqueue(entry, result.message.topic ?? topic, toProducerMessage(result.message)); break
            case 'forward-many': for (const m of result.messages) enqueue(entry, m.topic ?? topic, toProducerMessage(m)); break
            case 'drop': break
            case 'failed':
              if (result.action === 'fail') entry.fatal = { error: result.error }
              else deadLetter(entry, item, result.error, result.attempts)
              break
            default: throw new TypeError(`publish: not a Result: ${String((result as { kind?: unknown })?.kind)}`)
          }
        }
      }
      if (entry.fatal !== undefined) {
        // Nothing of this record is sent, and nothing after it is taken: flush what came before and stop there.
        // The source is NOT unsubscribed yet: a Kafka source would shut down and commit at once, before the
        // inputs ahead of this one are acknowledged, and drop the commit that follows. It goes in close().
        buffer.length = mark
        entry.outstanding = 0
        ending = 'fatal'
      }
      if (tail === undefined) head = tail = entry
      else tail = tail.next = entry
      const waiting = buffer.length - bufferHead
      if (waiting >= batchSize || (ending !== undefined && waiting > 0)) flush()
      else if (waiting > 0 && linger === undefined) linger = scheduler.schedule(flush, lingerMs)
      drain()
    }

    // A bad input (not a Result, an encoder that throws): take nothing more, and error once the send in flight
    // (if any) settled, so that no sendBatch of this stream is still out when it ends.
    const breakOff = (error: unknown): void => {
      broken = { error }
      ending = 'fatal'
      linger?.unsubscribe()
      linger = undefined
      if (retryTimer !== undefined) {
        retryTimer.unsubscribe() // a retry not sent yet: nothing is in flight
        retryTimer = undefined
        sending = false
      }
      if (!sending) close(broken)
    }

    const end = (how: { error: unknown } | 'complete'): void => {
      if (ending !== undefined) return
      ending = how
      flush()
      drain()
    }

    let sourceSubscription: Subscription | undefined
    sourceSubscription = source.subscribe({
      next: (processed) => {
        if (ending !== undefined || done) return
        try {
          accept(processed)
        } catch (err) {
          breakOff(err)
        }
      },
      error: (err) => end({ error: err }),
      complete: () => end('complete'),
    })
    if (done) sourceSubscription.unsubscribe()

    return () => {
      done = true
      linger?.unsubscribe()
      retryTimer?.unsubscribe()
      sourceSubscription?.unsubscribe()
    }
  })
}

function countAcked(metrics: PipelineMetrics, batch: readonly Pending[]): void {
  let letters = 0
  for (const p of batch) if (p.deadLetter) letters++
  metrics.deadLetters += letters
  metrics.published += batch.length - letters
}

function toProducerMessage(m: OutputMessage): ProducerMessageLike {
  const out: ProducerMessageLike = { key: m.key, value: m.value as ProducerMessageLike['value'] }
  if (m.partition !== undefined) out.partition = m.partition
  if (m.headers !== undefined) out.headers = { ...m.headers }
  return out
}

function validate(producer: KafkaProducerLike, options: PublishOptions, lingerMs: number, batchSize: number, maxAttempts: number): void {
  if (typeof producer?.sendBatch !== 'function') throw new TypeError('publish: producer must have a sendBatch function')
  if (typeof options?.topic !== 'string' || options.topic === '') throw new TypeError('publish: topic must be a non-empty string')
  if (options.deadLetterTopic !== undefined && (typeof options.deadLetterTopic !== 'string' || options.deadLetterTopic === '')) {
    throw new TypeError('publish: deadLetterTopic must be a non-empty string when given')
  }
  if (!(typeof lingerMs === 'number' && lingerMs >= 0 && lingerMs < Infinity)) throw new RangeError(`publish: lingerMs must be a finite number >= 0, got ${String(lingerMs)}`)
  if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) throw new RangeError(`publish: batchSize must be an integer >= 1, got ${String(batchSize)}`)
  if (!(maxAttempts === Infinity || (Number.isSafeInteger(maxAttempts) && maxAttempts >= 1))) {
    throw new RangeError(`publish: maxAttempts must be an integer >= 1 or Infinity, got ${String(maxAttempts)}`)
  }
  if (options.decodeFailures !== undefined && options.decodeFailures !== 'dead-letter' && options.decodeFailures !== 'fail') {
    throw new TypeError(`publish: decodeFailures must be 'dead-letter' or 'fail', got ${String(options.decodeFailures)}`)
  }
}
