/**
 * One subscription of `publish`: inputs queued until their outputs are acknowledged, the send buffer and its
 * linger, the one batch in flight and its retries, and the end of the stream. Apart from `publish.ts` (the
 * contract) because this state machine is most of the code.
 */
import { from, type Observable, type Subscriber, type Subscription, type TeardownLogic } from 'rxjs'
import type { Processed } from '../../operators/processed'
import type { OutputMessage, Result } from '../../operators/result'
import type { DeadLetterSource } from './dead-letter'
import type { KafkaProducerLike } from '../client/producer'
import type { PublishSettings } from './options'
import { isFinalSendError, PublishSendError } from './send-error'
import { addOutputs, countAcked, topicMessagesOf, type Entry, type Pending } from './outputs'

/**
 * Runs one subscription of `publish(producer, options)`: subscribes to `source` and emits each input to
 * `subscriber` once all its outputs are acknowledged, in input order (see `publish` for the whole contract).
 *
 * ```text
 * source:      a-b-c----|      a = forward(x), b = drop, c = forwardMany([y, z]); lingerMs 2
 * sendBatch:   --S---S
 * subscriber:  ---(ab)---(c|)
 * ```
 *
 * @example
 * return (source) => new Observable((subscriber) => runPublish(source, subscriber, producer, settings))
 *
 * @returns The teardown: drops what is not yet sent and unsubscribes the source.
 */
export function runPublish<T extends DeadLetterSource, O extends OutputMessage>(
  source: Observable<Processed<T, Result<O>>>, subscriber: Subscriber<Processed<T, Result<O>>>,
  producer: KafkaProducerLike, settings: PublishSettings,
): TeardownLogic {
  const { lingerMs, batchSize, acks, maxAttempts, backoff, scheduler, metrics } = settings
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
    const topicMessages = topicMessagesOf(batch)
    const failedSend = (err: unknown): void => {
      if (done) return
      if (broken !== undefined) return close(broken)
      let delay: number
      try {
        if (attempt >= maxAttempts || isFinalSendError(err)) throw new PublishSendError(topicMessages.map((t) => t.topic), attempt, err)
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
      from(producer.sendBatch({ topicMessages, acks })).subscribe({ error: failedSend, complete: acked })
    } catch (e) {
      failedSend(e)
    }
  }

  const accept = (processed: Processed<T, Result<O>>): void => {
    const entry: E = { processed, outstanding: 0 }
    const mark = buffer.length
    addOutputs(entry, buffer, settings)
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
}
