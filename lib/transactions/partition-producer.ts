/**
 * The transactional producer of one input partition, and one transaction's run on it: begin (the first
 * `transaction()` of a producer initializes its transactionalId, fencing every older producer of it), read
 * the committed offset, send the outputs, `sendOffsets`, `commit`. Apart from the operator because this is
 * the one place that talks to the broker.
 */
import type { Processed } from '../../operators/processed'
import type { OutputMessage, Result } from '../../operators/result'
import type { DeadLetterSource } from '../publish/dead-letter'
import { topicMessagesOf, type Entry, type Pending } from '../publish/outputs'
import type { TransactionalSettings } from './options'
import type { TransactionLike, TransactionalProducerLike } from '../client/transactions'
import type { PlannedTransaction } from './transaction-plan'

/** One input record waiting for its transaction, with the messages (outputs, dead letter) it sends. */
export interface TransactionEntry extends Entry<Processed<DeadLetterSource, Result<OutputMessage>>> {
  readonly item: DeadLetterSource
  readonly messages: Pending[]
}

/** What one transaction did: records already committed by an earlier transaction are skipped, not sent. */
export interface TransactionOutcome {
  /** The offset committed in the transaction (the next to read), or undefined when every record was skipped. */
  readonly offset: string | undefined
  readonly skipped: number
  readonly messages: number
}

/**
 * Runs the transactions of one input partition, one at a time. A new assignment epoch, or any failure, gets
 * a new producer: its initialization fences the old producer (of this process or a zombie) and aborts or
 * completes the transaction it had open; only then is the group's committed offset read, and records below
 * it (committed by that transaction, e.g. one whose acknowledgement was lost) are skipped, never sent twice.
 *
 * @example
 * const producer = new PartitionProducer('svc-orders-3', 'orders', 3, settings)
 * const outcome = await producer.run(transaction)
 */
export class PartitionProducer {
  #producer: TransactionalProducerLike | undefined
  #epoch = -1
  #floor: bigint | undefined // the committed offset, known since this producer fenced the others
  #current: Promise<unknown> = Promise.resolve()

  constructor(readonly transactionalId: string, readonly topic: string, readonly partition: number, private readonly settings: TransactionalSettings) {}

  /** Runs `transaction` in this partition's producer; rejects (its transaction aborted) when any step failed. */
  run(transaction: PlannedTransaction<TransactionEntry>): Promise<TransactionOutcome> {
    return this.#exclusive(() => this.#run(transaction))
  }

  /**
   * Makes `offset` the group's committed offset of this partition in `epoch`, unless the group has one at or
   * past it: fences the older producers first (a new epoch starts a new producer), so that nothing they
   * still commit can land after it. For the source's own commits (an assignment's start position, the
   * offset past a control batch), which would rewind the group if sent unfenced by the consumer.
   * Resolves with the committed offset as it now stands.
   */
  makeDurable(epoch: number, offset: string): Promise<bigint> {
    return this.#exclusive(() => this.#inTransaction(epoch, async (tx, floor) => {
      if (floor >= BigInt(offset)) {
        await tx.abort() // nothing was added to it: kafkajs ends it without a request
        return floor
      }
      await this.#commitOffset(tx, offset)
      return BigInt(offset)
    }))
  }

  /** Once the transaction out (if any) settled, disconnects the producer. */
  close(): Promise<void> {
    return this.#exclusive(() => this.#retire())
  }

  // One step at a time on this partition's producer, in call order.
  #exclusive<R>(step: () => Promise<R>): Promise<R> {
    const result = this.#current.then(step)
    this.#current = result.catch(() => undefined)
    return result
  }

  // A new epoch gets a new producer: its initialization fences the older ones and settles their transaction.
  async #producerFor(epoch: number): Promise<void> {
    if (this.#producer !== undefined && this.#epoch === epoch) return
    await this.#retire()
    const producer = this.settings.producer(this.transactionalId)
    this.#producer = producer
    this.#epoch = epoch
    try {
      await producer.connect()
    } catch (error) {
      await this.#retire() // never reused half-initialized: the next try starts a new one
      throw error
    }
  }

  // Begins a transaction; a producer that cannot (fenced, broken) is retired so the next try starts anew.
  async #begin(epoch: number): Promise<TransactionLike> {
    await this.#producerFor(epoch)
    try {
      return await this.#producer!.transaction()
    } catch (error) {
      await this.#retire()
      throw error
    }
  }

  #run({ epoch, records }: PlannedTransaction<TransactionEntry>): Promise<TransactionOutcome> {
    return this.#inTransaction(epoch, async (tx, floor) => {
      // Records are consecutive in offset order: the skipped ones are a prefix.
      const fresh = records.filter((r) => BigInt(r.item.offset) >= floor)
      if (fresh.length === 0) {
        await tx.abort() // nothing was added to it: kafkajs ends it without a request
        return { offset: undefined, skipped: records.length, messages: 0 }
      }
      const messages = fresh.flatMap((r) => r.messages)
      if (messages.length > 0) await tx.sendBatch({ topicMessages: topicMessagesOf(messages), acks: -1 })
      const offset = (BigInt(fresh[fresh.length - 1]!.item.offset) + 1n).toString()
      await this.#commitOffset(tx, offset)
      return { offset, skipped: records.length - fresh.length, messages: messages.length }
    })
  }

  // Runs `body` in a transaction of `epoch`'s producer, with the group's committed offset (read once per
  // producer, after it fenced the others). On any failure the transaction is aborted and the producer retired.
  async #inTransaction<R>(epoch: number, body: (tx: TransactionLike, floor: bigint) => Promise<R>): Promise<R> {
    const tx = await this.#begin(epoch)
    try {
      this.#floor ??= await this.#committedOffset()
      return await body(tx, this.#floor)
    } catch (error) {
      await tx.abort().catch(() => undefined) // fenced or broken: the next producer's initialization aborts it
      await this.#retire()
      throw error
    }
  }

  // Adds the commit of `offset` (the next to read) to `tx` and commits it; the floor follows.
  async #commitOffset(tx: TransactionLike, offset: string): Promise<void> {
    await tx.sendOffsets({ consumerGroupId: this.settings.consumerGroupId, topics: [{ topic: this.topic, partitions: [{ partition: this.partition, offset }] }] })
    await tx.commit()
    this.#floor = BigInt(offset)
  }

  async #committedOffset(): Promise<bigint> {
    const topics = await this.settings.admin.fetchOffsets({ groupId: this.settings.consumerGroupId, topics: [this.topic] })
    const found = topics.find((t) => t.topic === this.topic)?.partitions.find((p) => p.partition === this.partition)
    // -1 when the group has none: then every record is fresh, and a start position is committed.
    return found === undefined || BigInt(found.offset) < 0n ? -1n : BigInt(found.offset)
  }

  async #retire(): Promise<void> {
    const producer = this.#producer
    this.#producer = undefined
    this.#floor = undefined
    if (producer !== undefined) await producer.disconnect().catch(() => undefined)
  }
}
