import { Kafka } from 'kafkajs'
import { fromKafka, isDecodeFailure, pullRecords, stringDecoder } from '../index'

/** One order at a time, until `signal` aborts; then the loop drains what was delivered and ends. */
export async function pullOrders(
  brokers: string[], topic: string, groupId: string, signal: AbortSignal, handle: (order: string) => Promise<void>,
): Promise<void> {
  const consumer = new Kafka({ brokers }).consumer({ groupId })
  const orders = fromKafka(consumer, { topics: [topic], fromBeginning: true, maxInFlight: 100, valueDecoder: stringDecoder, signal })
  const pull = pullRecords(orders, { interval: 1_000 })
  for await (const order of pull) {
    // A record of a revoked partition is skipped (its new owner has it), but finished all the same.
    if (!orders.isStale(order) && !isDecodeFailure(order) && order.value !== null) await handle(order.value)
    pull.finish(order) // counts toward the next commit and frees one place of maxInFlight
  }
  // Here the final commit is acknowledged and the consumer disconnected.
}

/** Micro-batches of up to 50 orders, or what arrived within 100 ms, for a batch API. */
export async function pullOrderBatches(
  brokers: string[], topic: string, groupId: string, signal: AbortSignal, insertMany: (orders: string[]) => Promise<void>,
): Promise<void> {
  const consumer = new Kafka({ brokers }).consumer({ groupId })
  const orders = fromKafka(consumer, { topics: [topic], fromBeginning: true, maxInFlight: 200, valueDecoder: stringDecoder, signal })
  const pull = pullRecords(orders, { interval: 1_000 })
  for await (const batch of pull.batches({ size: 50, time: 100 })) {
    const values = batch.flatMap((order) => (isDecodeFailure(order) || order.value === null ? [] : [order.value]))
    await insertMany(values)
    for (const order of batch) pull.finish(order)
  }
}
