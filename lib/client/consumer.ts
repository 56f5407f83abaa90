/**
 * The slice of a Kafka consumer that kafka-rx depends on, written as structural types.
 *
 * A kafkajs 2.x `Consumer` satisfies it as is. kafkajs 2.2.4 is its last release, so everything the source
 * needs goes through these few members, and another client (for instance the KafkaJS-compatible API of
 * `@confluentinc/kafka-javascript`) can plug in through a thin adapter that emits the same four
 * instrumentation events.
 */

/** A message as the client hands it over: offsets and timestamps are int64 in decimal strings. */
export interface KafkaMessageLike {
  readonly offset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestamp: string
  readonly headers?: Readonly<Record<string, Buffer | string | undefined | (Buffer | string)[]>>
}

/** One fetched run of messages of one partition (kafkajs `Batch`). */
export interface KafkaBatchLike {
  readonly topic: string
  readonly partition: number
  /** Messages in offset order, control records and aborted transactions already removed. */
  readonly messages: readonly KafkaMessageLike[]
  /**
   * The last offset this fetch covered, control records and compacted-away offsets included: kafkajs's
   * fetch position moves to `lastOffset() + 1` once the last message is resolved.
   */
  lastOffset(): string
  /** The partition's high watermark (next offset to be written) as the broker reported it with this fetch. */
  readonly highWatermark?: string
}

/** What `eachBatch` receives (kafkajs `EachBatchPayload`, the members kafka-rx uses). */
export interface EachBatchPayloadLike {
  readonly batch: KafkaBatchLike
  /** Moves the client's FETCH position past `offset` (kafkajs stores `offset + 1`); must move in order. */
  resolveOffset(offset: string): void
  heartbeat(): Promise<void>
  isRunning(): boolean
  /** True when a `seek` made this batch's messages obsolete. */
  isStale(): boolean
}

/** A topic with some (or, when `partitions` is omitted, all) of its partitions. */
export interface TopicPartitionsLike {
  readonly topic: string
  readonly partitions?: number[]
}

/** A commit as Kafka's commit API wants it: `offset` is the next offset to read. */
export interface TopicPartitionOffsetLike {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly metadata?: string | null
}

/** Options of `run` that kafka-rx sets. */
export interface ConsumerRunConfigLike {
  autoCommit: boolean
  eachBatchAutoResolve: boolean
  partitionsConsumedConcurrently?: number
  eachBatch(payload: EachBatchPayloadLike): Promise<void>
}

/** An instrumentation event: kafkajs passes `{ id, type, timestamp, payload }`. */
export interface ConsumerEventLike<P> {
  readonly payload: P
}

/** `GROUP_JOIN`: the group completed a rebalance and this member owns `memberAssignment`. */
export interface GroupJoinPayloadLike {
  /** Partitions per topic, e.g. `{ orders: [0, 3] }`. */
  readonly memberAssignment: Readonly<Record<string, readonly number[]>>
  readonly groupId?: string
  readonly memberId?: string
}

/**
 * `PARTITIONS_CHANGED`: an incremental rebalance (KIP-848's consumer protocol, or a cooperative assignor) moved
 * only these partitions; every other owned partition stays owned, with its fetch position and its epoch. A
 * client that sends it never sends `REBALANCING` or `GROUP_JOIN` for the same change.
 */
export interface PartitionsChangedPayloadLike {
  /** Partitions this member no longer owns (listed first: they are revoked before `assigned` are added). */
  readonly revoked: readonly { readonly topic: string; readonly partitions: readonly number[] }[]
  /** Partitions this member owns from now on, and did not own just before. */
  readonly assigned: readonly { readonly topic: string; readonly partitions: readonly number[] }[]
}

/** `CRASH`: the consumer stopped on an error; `restart` tells whether the client restarts by itself. */
export interface CrashPayloadLike {
  readonly error: Error
  readonly restart: boolean
  readonly groupId?: string
}

/** `END_BATCH_PROCESS`: a fetched batch was handled; kafka-rx only reads it for batches with no message. */
export interface EndBatchProcessPayloadLike {
  readonly topic: string
  readonly partition: number
  readonly batchSize: number
  readonly lastOffset: string
  /** The partition's high watermark as the fetch saw it (kafkajs sends it; absent from other clients). */
  readonly highWatermark?: string
}

/** Names of the instrumentation events kafka-rx listens to (kafkajs `consumer.events`). */
export interface ConsumerEventNamesLike {
  /** A rebalance completed: the new assignment. */
  readonly GROUP_JOIN: string
  /** A rebalance started: with kafkajs's eager protocol, every partition is being revoked. */
  readonly REBALANCING: string
  /** The consumer crashed (and may restart by itself). */
  readonly CRASH: string
  /** The runner stopped: commits are silently ignored from now on. */
  readonly STOP: string
  /**
   * Optional: a batch ended. kafkajs resolves a batch made only of control records (a transaction marker
   * fetched on its own) without calling `eachBatch`; this event is how the source still learns that the
   * fetch position moved past it, so the partition can reach zero lag.
   */
  readonly END_BATCH_PROCESS?: string
  /**
   * Optional: a fetch starts (kafkajs fetches again only once every batch of the previous response was
   * handled). The drain before rejoin reads it to tell which partitions have nothing left to deliver.
   */
  readonly FETCH_START?: string
  /**
   * Optional: an incremental assignment change ({@link PartitionsChangedPayloadLike}). kafkajs never sends it
   * (it rebalances eagerly); the `@platformatic/kafka` adapter (`kafka-rx/platformatic`) sends only this one.
   */
  readonly PARTITIONS_CHANGED?: string
}

/**
 * The consumer kafka-rx drives. A kafkajs `Consumer` (from `kafka.consumer({ groupId })`) fits as is.
 *
 * @example
 * import { Kafka } from 'kafkajs'
 * const consumer: KafkaConsumerLike = new Kafka({ brokers: ['localhost:9092'] }).consumer({ groupId: 'g' })
 */
export interface KafkaConsumerLike {
  connect(): Promise<void>
  subscribe(subscription: { topics: (string | RegExp)[]; fromBeginning?: boolean }): Promise<void>
  run(config: ConsumerRunConfigLike): Promise<void>
  /** Must be awaited before `stop()`/`disconnect()`: kafkajs silently drops commits once stopped. */
  commitOffsets(offsets: TopicPartitionOffsetLike[]): Promise<void>
  /**
   * Optional: the partitions the user paused now (kafkajs's `paused()`). A batch the source holds for its
   * budget is not delivered further once its partition shows up here. kafka-rx itself never pauses or
   * resumes (back-pressure holds the batch inside `eachBatch`), so `pause`/`resume` are not part of this slice.
   */
  paused?(): TopicPartitionsLike[]
  stop(): Promise<void>
  disconnect(): Promise<void>
  /** Moves the fetch position. `fromKafka` refuses it while subscribed (it drives the fetch position itself). */
  seek?(target: TopicPartitionOffsetLike): void
  /**
   * Optional: set by a client adapter that cannot serve `publishTransactional`, to a sentence naming the
   * client and what it lacks; `publishTransactional` over such a source errors with a
   * `TransactionsUnsupportedError` quoting it, before any record is read. A kafkajs consumer has none.
   */
  readonly transactionsUnsupported?: string
  /** Adds an instrumentation listener; returns its remover. */
  on(eventName: string, listener: (event: ConsumerEventLike<any>) => void): () => void
  readonly events: ConsumerEventNamesLike
}
