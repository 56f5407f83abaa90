/**
 * The `publishTransactional` operator: exactly-once consume-transform-produce. Its options are in
 * `options.ts`, what goes in each transaction in `transaction-plan.ts`, one partition's producer in
 * `partition-producer.ts`.
 */
import { Observable, type OperatorFunction, type Subscription } from 'rxjs'
import type { Processed } from '../../operators/processed'
import type { OutputMessage, Result } from '../../operators/result'
import type { RecordOrigin, TrackedCommitOffset } from '../../operators/record-origin'
import type { DeadLetterSource } from '../publish/dead-letter'
import { addOutputs } from '../publish/outputs'
import { TransactionFencedError, isFencing } from './fenced-error'
import { transactionalSettings, type PublishTransactionalOptions } from './options'
import { PartitionProducer, type TransactionEntry } from './partition-producer'
import { TransactionPlan, type PlannedTransaction } from './transaction-plan'

/** What `publishTransactional` needs of the source: a `KafkaSource` fits. */
export interface TransactionalSource {
  readonly tracker: { finish(origin: RecordOrigin): boolean; committed(offsets: readonly TrackedCommitOffset[]): void }
  isStale(record: RecordOrigin): boolean
}

/** One committed transaction: a partition's outputs and the commit of its input offsets, together. */
export interface TransactionCommit {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
  /** The input offset committed (the next to read); undefined when every record was already committed. */
  readonly offset: string | undefined
  /** Input records the transaction covered, and of them those skipped (committed before, by a fenced one). */
  readonly records: number
  readonly skipped: number
  /** Messages written (outputs and dead letters). */
  readonly messages: number
  /** 1 when the first try committed. */
  readonly attempts: number
}

/**
 * Replaces `publish` + `commitOffsets` with transactions: each input partition has its own transactional
 * producer (`transactionalId` `<prefix>-<topic>-<partition>`), and a transaction holds consecutive records of
 * one partition: their outputs and dead letters, then `sendOffsets` of the offset past them, then `commit`.
 * A read_committed reader sees each input's outputs exactly once.
 *
 * - Collapsed: a partition's waiting records go in one transaction every `interval` ms, at once when
 *   `batchSize` wait; one transaction per partition at a time, partitions in parallel.
 * - Ownership: records of a revoked epoch never go in a transaction (they are released, not sent). A new
 *   epoch starts a new producer, whose initialization fences every older one (a zombie's included) and
 *   settles its open transaction; then the committed offset is read again and records below it are skipped.
 * - Failure: a failed transaction is aborted, nothing of it committed; it runs again on a new producer after
 *   `backoff(attempt)` (skipping what a lost acknowledgement hid). After `maxAttempts` the stream errors, with
 *   a {@link TransactionFencedError} when every attempt was fenced while the partition was still owned.
 * - Results as in `publish`: `forward`, `forwardMany`, `drop`, dead letters; `failed` with action 'fail'
 *   commits what came before it in every partition, then errors.
 * - Source completes (a drain): every waiting record goes at once; completes once all committed and the
 *   producers are disconnected. Unsubscribed: no new transaction; those out finish, then producers disconnect.
 *
 * ```text
 * input (partition 0):  a-b-c-------d--|    interval 4
 * transactions:         ----[abc]-----[d]   each [..] = send outputs, sendOffsets(past its last), commit
 * output:               -------T--------(T|)
 * ```
 *
 * @example
 * source.pipe(
 *   groupByKeyConcat(recordKey, (r) => forward({ key: r.key, value: price(r) }), { skip: source.isStale }),
 *   orderedMerge(),
 *   publishTransactional(source, { consumerGroupId: 'pricing', topic: 'prices', producer: makeProducer, admin }),
 * ).subscribe()
 *
 * @param source The `fromKafka` source: records are finished in its tracker once their transaction committed.
 * @param options See {@link PublishTransactionalOptions}.
 * @throws {TypeError|RangeError} At call time, for invalid options.
 */
export function publishTransactional<T extends DeadLetterSource, O extends OutputMessage>(
  source: TransactionalSource, options: PublishTransactionalOptions,
): OperatorFunction<Processed<T, Result<O>>, TransactionCommit> {
  const settings = transactionalSettings(options)
  if (typeof source?.isStale !== 'function' || typeof source.tracker?.finish !== 'function') {
    throw new TypeError('publishTransactional: source must be a fromKafka source (with isStale and a tracker)')
  }
  const { interval, batchSize, maxAttempts, backoff, scheduler } = settings
  return (input) => new Observable<TransactionCommit>((subscriber) => {
    const { tracker } = source
    const isStale = (r: RecordOrigin): boolean => source.isStale(r)
    const plan = new TransactionPlan<TransactionEntry>()
    const producers = new Map<string, PartitionProducer>()
    let timer: Subscription | undefined
    let ending: { error: unknown } | 'complete' | undefined
    let running = 0
    let done = false
    let inputSubscription: Subscription | undefined

    const release = (entries: readonly TransactionEntry[]): void => {
      for (const e of entries) tracker.finish(e.item)
    }
    const producerOf = (topic: string, partition: number): PartitionProducer => {
      const id = `${settings.transactionalIdPrefix}-${topic}-${partition}`
      let p = producers.get(id)
      if (p === undefined) producers.set(id, (p = new PartitionProducer(id, topic, partition, settings)))
      return p
    }
    const close = (outcome?: { error: unknown }): void => {
      if (done) return
      done = true
      timer?.unsubscribe()
      inputSubscription?.unsubscribe()
      void Promise.all([...producers.values()].map((p) => p.close())).then(() => {
        if (outcome !== undefined) subscriber.error(outcome.error)
        else subscriber.complete()
      })
    }
    const settleIfEnded = (): void => {
      if (ending !== undefined && running === 0 && plan.idle) close(ending === 'complete' ? undefined : ending)
    }
    const start = (topic: string, partition: number): void => {
      if (done) return
      const stale: TransactionEntry[] = []
      const tx = plan.take(topic, partition, batchSize, isStale, stale)
      release(stale)
      if (tx !== undefined) run(tx, 1)
    }
    // Starts what is due: every waiting partition (`all`: the interval ran out, or the stream ends), else full ones.
    const startDue = (all: boolean): void => {
      for (const [topic, partition] of plan.partitions()) {
        const w = plan.waiting(topic, partition)
        if (!w.busy && (all || w.queued >= batchSize)) start(topic, partition)
      }
      if (!done && timer === undefined && ending === undefined && plan.partitions().length > 0) {
        timer = scheduler.schedule(() => {
          timer = undefined
          startDue(true)
        }, interval)
      }
      settleIfEnded()
    }
    const run = (tx: PlannedTransaction<TransactionEntry>, attempt: number): void => {
      running++
      producerOf(tx.topic, tx.partition).run(tx).then(
        (outcome) => {
          running--
          plan.settle(tx, true)
          release(tx.records)
          if (outcome.offset !== undefined) tracker.committed([{ topic: tx.topic, partition: tx.partition, offset: outcome.offset, epoch: tx.epoch }])
          if (!done) subscriber.next({ topic: tx.topic, partition: tx.partition, epoch: tx.epoch, records: tx.records.length, attempts: attempt, ...outcome })
          startDue(ending !== undefined)
        },
        (error: unknown) => {
          running--
          if (done) return
          if (isStale(tx.records[0]!.item)) {
            plan.settle(tx, false) // not ours any more: the new owner processes these records again
            return startDue(ending !== undefined)
          }
          if (attempt >= maxAttempts) {
            plan.settle(tx, false)
            const id = `${settings.transactionalIdPrefix}-${tx.topic}-${tx.partition}`
            return close({ error: isFencing(error) ? new TransactionFencedError(id, attempt, error) : error })
          }
          running++ // the lane stays busy through the backoff: nothing overtakes a failed transaction
          const retry = (): void => {
            running--
            if (done) return
            if (isStale(tx.records[0]!.item)) {
              plan.settle(tx, false)
              return startDue(ending !== undefined)
            }
            run(tx, attempt + 1)
          }
          try {
            const delay = backoff(attempt)
            if (!(typeof delay === 'number' && delay >= 0 && delay < Infinity)) throw new RangeError(`publishTransactional: backoff(${attempt}) returned ${String(delay)}, not a finite delay >= 0`)
            scheduler.schedule(retry, delay)
          } catch (e) {
            running--
            plan.settle(tx, false)
            close({ error: e })
          }
        },
      )
    }
    const end = (how: { error: unknown } | 'complete'): void => {
      if (ending !== undefined) return
      ending = how
      timer?.unsubscribe()
      timer = undefined
      startDue(true)
    }
    const accept = (processed: Processed<T, Result<O>>): void => {
      const entry: TransactionEntry = { processed: processed as TransactionEntry['processed'], item: processed.item, outstanding: 0, messages: [] }
      addOutputs(entry, entry.messages, settings.outputs)
      if (entry.fatal !== undefined) return end(entry.fatal) // nothing of it is sent; what came before is committed
      plan.add(entry)
      release(plan.takeLateStale())
      const { topic, partition } = processed.item
      if (plan.waiting(topic, partition).queued >= batchSize) start(topic, partition)
      startDue(false)
    }

    inputSubscription = input.subscribe({
      next: (processed) => {
        if (ending !== undefined || done) return
        try {
          accept(processed)
        } catch (error) {
          end({ error }) // a bad input (not a Result, out of order): commit what came before it, then error
        }
      },
      error: (error) => end({ error }),
      complete: () => end('complete'),
    })
    if (done) inputSubscription.unsubscribe()
    return () => {
      if (done) return
      done = true
      timer?.unsubscribe()
      inputSubscription?.unsubscribe()
      for (const p of producers.values()) void p.close()
    }
  })
}
