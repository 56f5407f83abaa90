/**
 * The slice of a Kafka producer that `publish` depends on, as structural types. A kafkajs 2.x `Producer`
 * satisfies it as is; another client (or a test fake) plugs in by implementing `sendBatch`.
 */

/** A message as handed to the producer (kafkajs `Message`). */
export interface ProducerMessageLike {
  key?: Buffer | string | null
  value: Buffer | string | null
  partition?: number
  headers?: Record<string, Buffer | string | undefined | (Buffer | string)[]>
}

/** Messages for one topic, in the order they must be written per partition (kafkajs `TopicMessages`). */
export interface TopicMessagesLike {
  topic: string
  messages: ProducerMessageLike[]
}

/** A kafkajs `Producer`, the one call `publish` makes. */
export interface KafkaProducerLike {
  /**
   * Writes the messages; resolves once the broker acknowledged every one of them (with `acks: -1`, once all
   * in-sync replicas have them), rejects when any failed.
   */
  sendBatch(batch: { topicMessages: TopicMessagesLike[]; acks?: number }): Promise<unknown>
}
