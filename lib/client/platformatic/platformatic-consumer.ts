import { EventEmitter } from 'node:events'
import type {
  ConsumerEventLike,
  ConsumerRunConfigLike,
  KafkaConsumerLike,
  PartitionsChangedPayloadLike,
  TopicPartitionOffsetLike,
} from '../consumer'
import { diffAssignments, watchAssignments } from './assignment-watch'
import { watchRejoins } from './rejoin-watch'
import { ownershipLostType, PlatformaticOwnershipLostError } from './ownership-error'
import { PartitionQueues, type PartitionQueue } from './partition-queues'
import { StampRuns } from './stamp-runs'
import type { PlatformaticAssignment, PlatformaticConsumer, PlatformaticMessage, PlatformaticMessagesStream } from './platformatic-types'

/** Options of {@link platformaticConsumer}. */
export interface PlatformaticConsumerOptions {
  /**
   * Most messages read from the client's stream and not yet resolved by kafka-rx, every partition (default
   * 20,000). Beyond it the adapter pauses the stream, which stops fetching (what a fetch in flight brings
   * waits in the stream's buffer) until kafka-rx resolves messages below it again. Keep it
   * at or above `fromKafka`'s `maxInFlight`, so that the in-flight budget, not this, is what limits.
   */
  readonly maxQueued?: number
}

// Names of the instrumentation events (the adapter's own emitter): it sends only CRASH, STOP and
// PARTITIONS_CHANGED; GROUP_JOIN and REBALANCING (kafkajs's eager rebalance) never come.
const EVENTS = {
  GROUP_JOIN: 'kafka-rx.platformatic.group-join',
  REBALANCING: 'kafka-rx.platformatic.rebalancing',
  CRASH: 'kafka-rx.platformatic.crash',
  STOP: 'kafka-rx.platformatic.stop',
  PARTITIONS_CHANGED: 'kafka-rx.platformatic.partitions-changed',
} as const

// What publishTransactional is told (TransactionsUnsupportedError) when given a source on this adapter.
const NO_TRANSACTIONS =
  'it is @platformatic/kafka through kafka-rx/platformatic, which adapts no transactions (publishTransactional ' +
  'drives kafkajs transactional producers and their offset commits only); use kafkajs for exactly-once, or ' +
  'publish (at-least-once) on @platformatic/kafka'

// Longest disconnect() waits for a classic join in flight before closing the client.
const JOIN_WAIT_MS = 30_000

// A batch kafka-rx handed back without resolving anything (it yielded to another partition) is offered again
// after this long, not at once, so that a partition waiting for budget does not spin.
const RETRY_MS = 10

/**
 * Makes a `@platformatic/kafka` `Consumer` the consumer `fromKafka` drives, in place of a kafkajs one.
 *
 * The group protocol is the consumer's own: with `groupProtocol: 'consumer'` (KIP-848, Kafka 4.x) an
 * assignment change moves single partitions, and the adapter tells the source which (PARTITIONS_CHANGED):
 * only revoked partitions stop, the others keep flowing with their epochs. The classic protocol works the
 * same way from the source's side (partitions kept across a rebalance keep their epoch).
 *
 * What it does not offer (see docs/clients.md): `consumer.pause()` per partition and `paused()`, commit
 * metadata, seeks, transactions (`publishTransactional` needs kafkajs). The consumer serves one
 * subscription: unsubscribing closes it (`consumer.close()`), as kafkajs's `disconnect()`.
 *
 * @param consumer A `Consumer` of `@platformatic/kafka` with `groupId`, no deserializers (Buffers), not yet
 *   consuming: the adapter calls `consume()` itself (`autocommit: false`, `mode: 'committed'`, the fallback
 *   from `fromKafka`'s `fromBeginning`).
 * @example
 * import { Consumer } from '@platformatic/kafka'
 * import { fromKafka } from 'kafka-rx'
 * import { platformaticConsumer } from 'kafka-rx/platformatic'
 *
 * const consumer = new Consumer({ groupId: 'billing', clientId: 'billing', bootstrapBrokers: ['localhost:9092'], groupProtocol: 'consumer' })
 * const orders = fromKafka(platformaticConsumer(consumer), { topics: ['orders'] })
 */
export function platformaticConsumer(consumer: PlatformaticConsumer, options: PlatformaticConsumerOptions = {}): KafkaConsumerLike {
  const adapter = new PlatformaticConsumerAdapter(consumer, options)
  // A plain object of bound methods, as a kafkajs consumer is: a Proxy or a spread of it keeps working
  // (the class's #private fields would not be reachable through a Proxy's `this`).
  return {
    events: adapter.events,
    transactionsUnsupported: NO_TRANSACTIONS,
    connect: () => adapter.connect(),
    subscribe: (subscription) => adapter.subscribe(subscription),
    run: (config) => adapter.run(config),
    commitOffsets: (offsets) => adapter.commitOffsets(offsets),
    stop: () => adapter.stop(),
    disconnect: () => adapter.disconnect(),
    on: (eventName, listener) => adapter.on(eventName, listener),
  }
}

class PlatformaticConsumerAdapter implements KafkaConsumerLike {
  readonly events = EVENTS
  readonly #consumer: PlatformaticConsumer
  readonly #maxQueued: number
  readonly #emitter = new EventEmitter()
  readonly #queues = new PartitionQueues()
  // The ownership each message in the stream was pushed in, in push order (see PartitionQueues.stamp).
  readonly #stamps = new StampRuns()
  readonly #batches = new Set<Promise<void>>()
  #topics: string[] | undefined
  #fromBeginning = false
  #stream: PlatformaticMessagesStream | undefined
  #eachBatch: ConsumerRunConfigLike['eachBatch'] | undefined
  #running = false
  #stopped: Promise<void> | undefined
  #unwatch: (() => void) | undefined
  // Partitions that got messages since the last #flush, which is queued (#flushing) while there are any.
  readonly #touched = new Set<PartitionQueue>()
  #flushing = false
  // The stream is paused because maxQueued messages wait.
  #full = false
  #unwatchRejoins: (() => void) | undefined
  // The member sent a JoinGroup: it uses the classic protocol (see rejoin-watch.ts).
  #classic = false
  // A classic JoinGroup or SyncGroup is out: the client's generation may change under a commit, or has
  // changed and the new assignment is not known yet.
  #rejoining = false
  // Classic joins in flight (JoinGroup until its final callback), and who waits for them to end.
  #joins = 0
  #joinsEnded: (() => void)[] = []

  constructor(consumer: PlatformaticConsumer, options: PlatformaticConsumerOptions) {
    const maxQueued = options.maxQueued ?? 20_000
    if (!Number.isInteger(maxQueued) || maxQueued < 1) {
      throw new RangeError(`kafka-rx/platformatic: platformaticConsumer: maxQueued must be a positive integer, received ${String(maxQueued)}`)
    }
    this.#consumer = consumer
    this.#maxQueued = maxQueued
  }

  /** The client connects on its own when it first needs a broker. */
  async connect(): Promise<void> {}

  async subscribe({ topics, fromBeginning }: { topics: (string | RegExp)[]; fromBeginning?: boolean }): Promise<void> {
    const pattern = topics.find((t) => typeof t !== 'string')
    if (pattern !== undefined) {
      throw new TypeError(`kafka-rx/platformatic: subscribe: @platformatic/kafka consumes topics by name only, received the pattern ${String(pattern)}`)
    }
    this.#topics = topics as string[]
    this.#fromBeginning = fromBeginning === true
  }

  async run(config: ConsumerRunConfigLike): Promise<void> {
    if (this.#topics === undefined) throw new Error('kafka-rx/platformatic: run: subscribe() must come first')
    if (this.#eachBatch !== undefined) throw new Error('kafka-rx/platformatic: run: this consumer runs already (one subscription per consumer)')
    if (config.autoCommit) throw new Error('kafka-rx/platformatic: run: autoCommit must be false (kafka-rx commits itself)')
    this.#eachBatch = config.eachBatch
    this.#running = true
    const topics = new Set(this.#topics)
    const consumer = this.#consumer
    // Watched before consume() joins the group, so that the first assignment is seen too.
    this.#unwatch = watchAssignments(consumer, (before, after) => {
      this.#rejoining = false
      this.#assignmentChanged(before, after, topics)
    })
    this.#unwatchRejoins = watchRejoins(consumer, {
      starting: (request) => {
        this.#classic = true
        this.#rejoining = true
        if (request === 'joinGroup') this.#joins++
      },
      joined: () => {
        this.#joins = Math.max(0, this.#joins - 1)
        if (this.#joins === 0) for (const resolve of this.#joinsEnded.splice(0)) resolve()
      },
    })
    this.#assignmentChanged(null, consumer.assignments, topics)
    const stream = await consumer.consume({ topics: this.#topics, autocommit: false, mode: 'committed', fallbackMode: this.#fromBeginning ? 'earliest' : 'latest' })
    this.#stream = stream
    if (!this.#running) return
    // Nothing was fetched yet (the stream fetches once read): what it pushes from now on is the current
    // ownerships' own.
    this.#queues.refreshed()
    // Anything the stream holds already was pushed before this: it belongs to no ownership.
    this.#stamps.pushMany(-1, stream.readableLength)
    const push = stream.push
    const stamps = this.#stamps
    const queues = this.#queues
    stream.push = (chunk: unknown): boolean => {
      if (chunk !== null && typeof chunk === 'object') stamps.push(queues.stamp(chunk as PlatformaticMessage))
      return push.call(stream, chunk)
    }
    stream.on('offsets', () => this.#queues.refreshed())
    stream.on('error', (error: Error) => this.#crash(error))
    // Flowing, as a plain reader of the stream is: each message comes as the stream pushes it, with none of
    // read()'s per-call work; the adapter pauses the stream itself once maxQueued messages wait (see #received).
    stream.on('data', (message: PlatformaticMessage) => this.#received(message))
  }

  async commitOffsets(offsets: TopicPartitionOffsetLike[]): Promise<void> {
    const withMetadata = offsets.find((o) => o.metadata !== undefined && o.metadata !== null && o.metadata !== '')
    if (withMetadata !== undefined) {
      throw new TypeError(`kafka-rx/platformatic: commitOffsets: @platformatic/kafka commits no metadata, received metadata for ${withMetadata.topic}[${withMetadata.partition}]`)
    }
    // Classic protocol: from the JoinGroup until the new assignment, and for a partition an assignment change
    // revoked, the generation the client puts in the commit may be one in which another member owns the
    // partition, so the broker would accept the commit on the new owner's partition (rewinding it, or passing
    // its start). Refused as the group refuses a stale commit: the source drops it, the owner re-reads from
    // the last commit (at least once), and a partition still owned is committed again with the next commit.
    if (this.#rejoining) {
      throw new PlatformaticOwnershipLostError('REBALANCE_IN_PROGRESS', new Error('kafka-rx/platformatic: commitOffsets: classic protocol: the member is rejoining the group'))
    }
    const given = this.#classic ? offsets.find((o) => this.#queues.get(o.topic, o.partition) === undefined) : undefined
    if (given !== undefined) {
      const why = new Error(`kafka-rx/platformatic: commitOffsets: classic protocol: ${given.topic}[${given.partition}] was revoked by a completed rebalance, another member owns it in this generation`)
      throw new PlatformaticOwnershipLostError('ILLEGAL_GENERATION', why)
    }
    const request = offsets.map(({ topic, partition, offset }) => ({
      topic,
      partition,
      offset: BigInt(offset),
      leaderEpoch: this.#queues.get(topic, partition)?.leaderEpoch ?? -1,
    }))
    try {
      await this.#consumer.commit({ offsets: request })
    } catch (error) {
      const type = ownershipLostType(error)
      throw type === undefined ? error : new PlatformaticOwnershipLostError(type, error)
    }
  }

  /** Ends every batch, then closes the stream (the consumer stays in the group until `disconnect`). */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#running = false
    this.#unwatch?.()
    await Promise.allSettled([...this.#batches])
    try {
      await this.#stream?.close()
    } finally {
      for (const queue of this.#queues.owned()) this.#queues.revoke(queue.topic, queue.partition)
      this.#emit(EVENTS.STOP, {})
    }
  }

  /** Leaves the group and closes the client. */
  async disconnect(): Promise<void> {
    await this.stop()
    // A classic join in flight ends first (see rejoin-watch.ts): closing under it can leave a retry timer
    // that throws on the closed client. Bounded, so that a join that never answers cannot hold the close.
    if (this.#joins > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, JOIN_WAIT_MS)
        this.#joinsEnded.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    this.#unwatchRejoins?.()
    await this.#consumer.close()
  }

  on(eventName: string, listener: (event: ConsumerEventLike<any>) => void): () => void {
    this.#emitter.on(eventName, listener)
    return () => void this.#emitter.off(eventName, listener)
  }

  #emit(name: string, payload: unknown): void {
    this.#emitter.emit(name, { payload })
  }

  #crash(error: unknown): void {
    if (!this.#running) return
    this.#emit(EVENTS.CRASH, { error, restart: false })
  }

  #assignmentChanged(before: PlatformaticAssignment[] | null, after: PlatformaticAssignment[] | null, topics: ReadonlySet<string>): void {
    if (!this.#running) return
    const { revoked, assigned } = diffAssignments(before, after, topics)
    if (revoked.length === 0 && assigned.length === 0) return
    for (const { topic, partitions } of revoked) for (const p of partitions) this.#queues.revoke(topic, p)
    for (const { topic, partitions } of assigned) for (const p of partitions) this.#queues.assign(topic, p)
    this.#makeRoom() // the revoked partitions' queued messages were dropped
    const payload: PartitionsChangedPayloadLike = { revoked, assigned }
    this.#emit(EVENTS.PARTITIONS_CHANGED, payload)
  }

  /**
   * Queues a message the stream emitted and, once per burst of them (a fetch response is pushed in one go),
   * starts a batch for each partition that got some. At `maxQueued` messages waiting the stream is paused:
   * it stops fetching, and what it still pushes waits in its buffer until #makeRoom resumes it.
   */
  #received(message: PlatformaticMessage): void {
    // Shifted for every message, kept or not, so that the stamps stay in step with the stream.
    const stamp = this.#stamps.shift()
    if (!this.#running || !this.#queues.accept(message, stamp)) return
    this.#touched.add(this.#queues.get(message.topic, message.partition)!)
    if (!this.#flushing) {
      this.#flushing = true
      queueMicrotask(() => this.#flush())
    }
    if (this.#queues.size >= this.#maxQueued && !this.#full) {
      this.#full = true
      this.#stream!.pause()
    }
  }

  #flush(): void {
    this.#flushing = false
    for (const queue of this.#touched) this.#schedule(queue)
    this.#touched.clear()
  }

  /** Resolved messages made room: a stream paused at `maxQueued` flows again. */
  #makeRoom(): void {
    if (!this.#full || this.#queues.size >= this.#maxQueued || !this.#running) return
    this.#full = false
    this.#stream?.resume()
  }

  #schedule(queue: PartitionQueue): void {
    if (queue.running || queue.revoked || !this.#running || queue.head === queue.messages.length) return
    queue.running = true
    const batch = this.#runBatches(queue).finally(() => {
      queue.running = false
      this.#batches.delete(batch)
    })
    this.#batches.add(batch)
  }

  /** Hands the partition's queued messages to kafka-rx until none is left, it is revoked, or the adapter stops. */
  async #runBatches(queue: PartitionQueue): Promise<void> {
    const eachBatch = this.#eachBatch!
    try {
      for (;;) {
        const messages = this.#queues.pending(queue)
        if (messages.length === 0 || queue.revoked || !this.#running) return
        const before = queue.head
        const last = messages[messages.length - 1]!.offset
        await eachBatch({
          batch: { topic: queue.topic, partition: queue.partition, messages, lastOffset: () => last },
          resolveOffset: (offset) => this.#queues.resolve(queue, offset),
          heartbeat: async () => {}, // the client heartbeats on its own timer
          isRunning: () => this.#running,
          isStale: () => queue.revoked,
        })
        this.#makeRoom()
        if (queue.head === before) await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
      }
    } catch (error) {
      this.#crash(error)
    }
  }
}
