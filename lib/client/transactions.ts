/**
 * The slices of kafkajs's transactional producer and admin that `publishTransactional` calls, as structural
 * types: a kafkajs 2.x `Producer` (made with a `transactionalId`) and `Admin` fit as they are.
 */
import type { TopicMessagesLike } from './producer'

/** One open transaction of a kafkajs transactional producer. */
export interface TransactionLike {
  sendBatch(batch: { topicMessages: TopicMessagesLike[]; acks?: number }): Promise<unknown>
  sendOffsets(offsets: { consumerGroupId: string; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<unknown>
  commit(): Promise<unknown>
  abort(): Promise<unknown>
}

/** A kafkajs producer made with `transactionalId`, `idempotent: true`, `maxInFlightRequests: 1`. */
export interface TransactionalProducerLike {
  connect(): Promise<unknown>
  disconnect(): Promise<unknown>
  /** Begins a transaction; the first call initializes the transactionalId, fencing any older producer of it. */
  transaction(): Promise<TransactionLike>
}

/** The kafkajs `Admin` call used to read a partition's committed offset once its producer fenced the others. */
export interface OffsetsAdminLike {
  fetchOffsets(request: { groupId: string; topics: string[] }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>
}
