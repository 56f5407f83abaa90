/**
 * What goes in the next transaction of each input partition: a pure state machine, no I/O, no timers, so
 * that its invariants have property tests of their own (spec/transaction-plan.spec.ts). The operator
 * (`publish-transactional.ts`) feeds it records in partition order and runs the transactions it hands out.
 */
import type { RecordOrigin } from '../../operators/record-origin'

/** One input record waiting for its transaction, with whatever the caller keeps beside it (its outputs). */
export interface PlannedRecord { readonly item: RecordOrigin }

/** A transaction to run: records of ONE partition and ONE epoch, consecutive in delivery order. */
export interface PlannedTransaction<E extends PlannedRecord> {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
  readonly records: readonly E[]
}

interface Lane<E> {
  epoch: number
  nextSeq: number // the seq the next record of `epoch` must have
  queue: E[]
  busy: boolean // a transaction of this lane is out: at most one per partition, so commits stay ordered
}

/**
 * Per input partition, the records waiting for a transaction.
 *
 * - `add` takes each partition's records in delivery order (`seq` 0, 1, 2... per epoch, as `orderedMerge`
 *   emits them); a hole would let a transaction commit past a record not yet in any, so it throws.
 * - `take` hands out the waiting head of a partition (at most `max` records, one epoch, none of a revoked
 *   epoch) unless a transaction of it is still out; records of revoked epochs are returned as `stale`.
 * - `settle` ends the transaction out: committed (its records leave) or failed (they stay, to go again).
 *
 * ```text
 * add a0 a1 a2 (partition a, epoch 0)   take(a, 2) -> [a0 a1]   take(a) -> none (busy)
 * settle(a, failed)                      take(a, 2) -> [a0 a1]   settle(a, committed)   take(a) -> [a2]
 * ```
 *
 * @example
 * const plan = new TransactionPlan<Entry>()
 * plan.add(entry)
 * const tx = plan.take(topic, partition, 1000, source.isStale)
 */
export class TransactionPlan<E extends PlannedRecord> {
  readonly #lanes = new Map<string, Lane<E>>()
  readonly #lateStale: E[] = []

  /** Queues a record behind the earlier ones of its partition; throws when it is out of delivery order. */
  add(record: E): void {
    const { topic, partition, epoch, seq } = record.item
    const key = laneKey(topic, partition)
    let lane = this.#lanes.get(key)
    if (lane === undefined) this.#lanes.set(key, (lane = { epoch, nextSeq: 0, queue: [], busy: false }))
    if (epoch > lane.epoch) {
      lane.epoch = epoch
      lane.nextSeq = 0
    } else if (epoch < lane.epoch) {
      this.#lateStale.push(record) // its partition was assigned again since: never in a transaction
      return
    }
    if (seq !== lane.nextSeq) {
      throw new RangeError(
        `publishTransactional: record ${topic}[${partition}]@${record.item.offset} (epoch ${epoch}, seq ${seq}) arrived ` +
        `out of delivery order (expected seq ${lane.nextSeq}): put orderedMerge() before publishTransactional`,
      )
    }
    lane.nextSeq++
    lane.queue.push(record)
  }

  /** Records of an epoch older than one already seen, dropped at `add`: the caller only releases them. */
  takeLateStale(): E[] {
    return this.#lateStale.splice(0)
  }

  /**
   * The next transaction of a partition, or undefined when one is out or nothing waits. Drops (into
   * `stale`) the head records whose epoch `isStale` says was revoked: no transaction ever holds them.
   */
  take(topic: string, partition: number, max: number, isStale: (item: RecordOrigin) => boolean, stale: E[]): PlannedTransaction<E> | undefined {
    const lane = this.#lanes.get(laneKey(topic, partition))
    if (lane === undefined || lane.busy) return undefined
    const { queue } = lane
    let start = 0
    while (start < queue.length && isStale(queue[start]!.item)) start++
    if (start > 0) stale.push(...queue.splice(0, start))
    if (queue.length === 0) return undefined
    const epoch = queue[0]!.item.epoch
    let end = 1
    while (end < queue.length && end < max && queue[end]!.item.epoch === epoch) end++
    lane.busy = true
    return { topic, partition, epoch, records: queue.slice(0, end) }
  }

  /** Ends the partition's transaction out: on `committed` its records leave the queue, else they go again. */
  settle(transaction: PlannedTransaction<E>, committed: boolean): void {
    const lane = this.#lanes.get(laneKey(transaction.topic, transaction.partition))
    if (lane === undefined || !lane.busy) throw new Error('TransactionPlan.settle: no transaction of this partition is out')
    lane.busy = false
    if (committed) lane.queue.splice(0, transaction.records.length)
  }

  /** Records waiting (not in a transaction out) in a partition, and whether one is out. */
  waiting(topic: string, partition: number): { readonly queued: number; readonly busy: boolean } {
    const lane = this.#lanes.get(laneKey(topic, partition))
    return { queued: lane?.queue.length ?? 0, busy: lane?.busy ?? false }
  }

  /** Every partition with a record queued, as [topic, partition]. */
  partitions(): Array<readonly [string, number]> {
    const out: Array<readonly [string, number]> = []
    for (const lane of this.#lanes.values()) {
      const head = lane.queue[0]
      if (head !== undefined) out.push([head.item.topic, head.item.partition])
    }
    return out
  }

  /** True when no record waits and no transaction is out. */
  get idle(): boolean {
    for (const lane of this.#lanes.values()) if (lane.busy || lane.queue.length > 0) return false
    return true
  }
}

function laneKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`
}
