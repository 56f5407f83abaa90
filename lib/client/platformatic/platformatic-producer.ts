import type { KafkaProducerLike, ProducerMessageLike, TopicMessagesLike } from '../producer'
import type { PlatformaticMessageToProduce, PlatformaticProducer } from './platformatic-types'

/**
 * Makes a `@platformatic/kafka` `Producer` the producer `publish` (and dead letters) send through, in place
 * of a kafkajs one: `sendBatch` becomes one `send` of every message, in order, with the same `acks`.
 * Strings (keys, values, headers) are sent as UTF-8 Buffers; a null value is a tombstone.
 *
 * Not for `publishTransactional`: it needs kafkajs's transactions (see docs/clients.md).
 *
 * @example
 * import { Producer } from '@platformatic/kafka'
 * import { platformaticProducer } from 'kafka-rx/platformatic'
 *
 * const producer = platformaticProducer(new Producer({ clientId: 'billing', bootstrapBrokers: ['localhost:9092'] }))
 */
export function platformaticProducer(producer: PlatformaticProducer): KafkaProducerLike {
  return {
    sendBatch: ({ topicMessages, acks }) => producer.send({ messages: topicMessages.flatMap(toMessages), ...(acks === undefined ? {} : { acks }) }),
  }
}

function toMessages({ topic, messages }: TopicMessagesLike): PlatformaticMessageToProduce[] {
  return messages.map((m) => toMessage(topic, m))
}

function toMessage(topic: string, { key, value, partition, headers }: ProducerMessageLike): PlatformaticMessageToProduce {
  const out: PlatformaticMessageToProduce = { topic }
  if (key !== undefined && key !== null) out.key = toBuffer(key)
  if (value !== null) out.value = toBuffer(value)
  if (partition !== undefined) out.partition = partition
  if (headers !== undefined) {
    const map = new Map<Buffer, Buffer>()
    for (const [name, v] of Object.entries(headers)) {
      if (v === undefined) continue
      // kafkajs sends one header per element of an array value.
      for (const one of Array.isArray(v) ? v : [v]) map.set(Buffer.from(name), toBuffer(one))
    }
    out.headers = map
  }
  return out
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v
}
