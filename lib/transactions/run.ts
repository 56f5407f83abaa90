/**
 * One subscription of `publishTransactional`: records queued per partition in the plan, the interval, the
 * transactions out and their retries, and the end of the stream. Apart from `publish-transactional.ts` (the
 * contract) because this state machine is most of the code.
 */
import type { Observable, Subscriber, Subscription, TeardownLogic } from 'rxjs'
import type { Processed } from '../../operators/processed'
import type { OutputMessage, Result } from '../../operators/result'
import type { RecordOrigin, TrackedCommitOffset } from '../../operators/record-origin'
import type { DeadLetterSource } from '../publish/dead-letter'
import { addOutputs } from '../publish/outputs'
import { TransactionFencedError, isFencing } from './fenced-error'
import type { TransactionalSettings } from './options'
import { PartitionProducer, type TransactionEntry } from './partition-producer'
import type { TransactionCommit, TransactionalSource } from './publish-transactional'
import { TransactionPlan, type PlannedTransaction } from './transaction-plan'

/**
 * Runs one subscription of `publishTransactional(source, options)`: subscribes to `input` and emits to
 * `subscriber` one {@link TransactionCommit} per committed transaction (see `publishTransactional` for the
 * whole contract).
 *
 * ```text
 * input (partition 0):  a-b-c-------d--|    interval 4
 * transactions:         ----[abc]-----[d]
 * subscriber:           -------T--------(T|)
 * ```
 *
 * @example
 * return (input) => new Observable((subscriber) => runTransactional(input, subscriber, source, settings))
 *
 * @returns The teardown: no new transaction; those out finish, then the producers disconnect.
 */
export function runTransactional<T extends DeadLetterSource, O extends OutputMessage>(
  input: Observable<Processed<T, Result<O>>>, subscriber: Subscriber<TransactionCommit>,
  source: TransactionalSource, settings: TransactionalSettings,
): TeardownLogic {
  const { interval, maxBatchSize, maxAttempts, backoff, scheduler } = settings
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
  const idOf = (topic: string, partition: number): string => `${settings.transactionalIdPrefix}-${topic}-${partition}`
  // What a partition's producer gives up with after its last attempt: fenced every time, or the last error.
  const finalError = (topic: string, partition: number, attempts: number, error: unknown): unknown =>
    isFencing(error) ? new TransactionFencedError(idOf(topic, partition), attempts, error) : error
  const delayOf = (attempt: number): number => {
    const delay = backoff(attempt)
    if (!(typeof delay === 'number' && delay >= 0 && delay < Infinity)) throw new RangeError(`publishTransactional: backoff(${attempt}) returned ${String(delay)}, not a finite delay >= 0`)
    return delay
  }
  const producerOf = (topic: string, partition: number): PartitionProducer => {
    const id = idOf(topic, partition)
    let p = producers.get(id)
    if (p === undefined) producers.set(id, (p = new PartitionProducer(id, topic, partition, settings)))
    return p
  }
  const close = (outcome?: { error: unknown }): void => {
    if (done) return
    done = true
    undelegate()
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
    const tx = plan.take(topic, partition, maxBatchSize, isStale, stale)
    release(stale)
    if (tx !== undefined) run(tx, 1)
  }
  // Starts what is due: every waiting partition (`all`: the interval ran out, or the stream ends), else full ones.
  const startDue = (all: boolean): void => {
    for (const [topic, partition] of plan.partitions()) {
      const w = plan.waiting(topic, partition)
      if (!w.busy && (all || w.queued >= maxBatchSize)) start(topic, partition)
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
          return close({ error: finalError(tx.topic, tx.partition, attempt, error) })
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
          scheduler.schedule(retry, delayOf(attempt))
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
    if (plan.waiting(topic, partition).queued >= maxBatchSize) start(topic, partition)
    startDue(false)
  }

  // The source's own commits (start positions, control batches) go through the fenced producers, retried
  // like transactions; one that cannot be made errors the source (it delivers nothing unprotected).
  const makeDurable = async (o: TrackedCommitOffset, attempt = 1): Promise<boolean> => {
    const origin = { ...o, seq: 0 }
    if (done || isStale(origin)) return false
    try {
      await producerOf(o.topic, o.partition).makeDurable(o.epoch, o.offset)
      return !isStale(origin)
    } catch (error) {
      if (done || isStale(origin)) return false
      if (attempt >= maxAttempts) throw finalError(o.topic, o.partition, attempt, error)
      const delay = delayOf(attempt)
      await new Promise<void>((resolve) => scheduler.schedule(() => resolve(), delay))
      return makeDurable(o, attempt + 1)
    }
  }
  const undelegate = source.delegateCommits({
    commit: async (offsets) => {
      const durable = await Promise.all(offsets.map(async (o) => ((await makeDurable(o)) ? [o] : [])))
      return durable.flat()
    },
  })

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
    undelegate()
    timer?.unsubscribe()
    inputSubscription?.unsubscribe()
    for (const p of producers.values()) void p.close()
  }
}
