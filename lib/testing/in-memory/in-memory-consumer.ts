import type {
  ConsumerEventLike,
  ConsumerRunConfigLike,
  KafkaConsumerLike,
  KafkaMessageLike,
  TopicPartitionOffsetLike,
  TopicPartitionsLike,
} from '../../client/consumer'
import type { InMemoryGroup } from './in-memory-group'
import { logEnd, partitionId, type LogEntry } from './log-entry'
import type { Actor } from './run-events'

const EVENTS = {
  GROUP_JOIN: 'consumer.group_join',
  REBALANCING: 'consumer.rebalancing',
  CRASH: 'consumer.crash',
  STOP: 'consumer.stop',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
} as const

const kafkaError = (message: string, type: string, retriable: boolean): Error => Object.assign(new Error(message), { type, retriable })

/**
 * A group member of an {@link InMemoryKafka}, shaped like a kafkajs 2.2.4 consumer (`KafkaConsumerLike`), so
 * `fromKafka(() => kafka.consumer({ groupId }), options)` runs on it. Nothing happens by itself: the test
 * (or `runPipeline`) calls `fetch()` to hand one batch to `eachBatch`, and drives the group through
 * {@link InMemoryGroup}. It keeps kafkajs's behaviour: the fetch position is the last resolved offset + 1
 * (resolving a batch's last message resolves its trailing markers too), a batch of markers only is resolved
 * without `eachBatch` and reported by END_BATCH_PROCESS, heartbeats throw while the group rebalances, every
 * join re-reads from the committed offsets, and commits are dropped once stopped.
 */
export class InMemoryConsumer implements KafkaConsumerLike {
  readonly events = EVENTS
  #listeners = new Map<string, Set<(event: ConsumerEventLike<unknown>) => void>>()
  #topics: (string | RegExp)[] = []
  #fromBeginning = false
  #eachBatch: ConsumerRunConfigLike['eachBatch'] | undefined
  #running = false
  #killed = false
  #rebalancing = false
  #generation = -1
  #assignment: Record<string, number[]> = {}
  #position = new Map<string, number>()
  #paused = new Set<string>()
  #fetching: Promise<number> | undefined
  #next = 0 // round robin over owned partitions

  constructor(
    readonly actor: Actor,
    private readonly group: InMemoryGroup,
    private readonly logs: ReadonlyMap<string, readonly (readonly LogEntry[])[]>,
  ) {}

  async connect(): Promise<void> {}

  async subscribe(subscription: { topics: (string | RegExp)[]; fromBeginning?: boolean }): Promise<void> {
    this.#topics = subscription.topics
    this.#fromBeginning = subscription.fromBeginning === true
  }

  async run(config: ConsumerRunConfigLike): Promise<void> {
    if (this.#running || this.#killed) throw new Error('in-memory consumer: run() called twice, or after a crash')
    this.#eachBatch = config.eachBatch
    this.#running = true
    await this.group.join(this)
  }

  /** True when this consumer subscribed to `topic` (by name or pattern). */
  subscribes(topic: string): boolean {
    return this.#topics.some((t) => (typeof t === 'string' ? t === topic : t.test(topic)))
  }

  get running(): boolean {
    return this.#running
  }

  /** The partitions assigned in the current generation. */
  get assignment(): Readonly<Record<string, readonly number[]>> {
    return this.#assignment
  }

  /** The group started rebalancing: REBALANCING, and heartbeats throw until the next assignment. */
  revoke(): void {
    if (!this.#running) return
    this.#rebalancing = true
    this.#emit(EVENTS.REBALANCING, { groupId: this.group.groupId, memberId: this.actor.member })
  }

  /** The group's new generation: fetching restarts from the committed offsets. */
  assign(generation: number, assignment: Record<string, number[]>): void {
    if (!this.#running) return
    this.#generation = generation
    this.#assignment = assignment
    this.#position.clear()
    this.#rebalancing = false
    this.group.record({ ...this.actor, kind: 'assign', generation, partitions: assignment })
    this.#emit(EVENTS.GROUP_JOIN, { memberAssignment: assignment, groupId: this.group.groupId, memberId: this.actor.member })
  }

  /** Resolves once no batch is being handled. */
  async idle(): Promise<void> {
    await this.#fetching?.catch(() => undefined)
  }

  /** True while a batch is being handled (possibly held by the source for its budget). */
  get fetching(): boolean {
    return this.#fetching !== undefined
  }

  /** Where fetching of an owned partition is now: the committed offset, or the reset position, until the first fetch. */
  position(topic: string, partition: number): number {
    const at = this.#position.get(partitionId(topic, partition))
    if (at !== undefined) return at
    return this.group.committedOf(topic, partition) ?? (this.#fromBeginning ? 0 : logEnd(this.#log(topic, partition)))
  }

  /** True when an owned partition has entries at or past its fetch position. */
  hasData(topic: string, partition: number): boolean {
    return this.position(topic, partition) < logEnd(this.#log(topic, partition))
  }

  /**
   * One fetch: up to `max` entries of the next owned partition with data (round robin), handed to
   * `eachBatch` (not awaited by callers that let the source hold it). Resolves with the messages handed over;
   * 0 when nothing was fetched, or a batch is still being handled.
   */
  fetch(max = 10): Promise<number> {
    if (!this.#running || this.#rebalancing || this.#fetching !== undefined) return Promise.resolve(0)
    const owned = Object.entries(this.#assignment).flatMap(([t, ps]) => ps.map((p) => [t, p] as const))
      .filter(([t, p]) => !this.#paused.has(partitionId(t, p)) && this.hasData(t, p))
    if (owned.length === 0) return Promise.resolve(0)
    const [topic, partition] = owned[this.#next++ % owned.length]!
    const fetching = this.#fetch(topic, partition, max).finally(() => {
      if (this.#fetching === fetching) this.#fetching = undefined
    })
    this.#fetching = fetching
    return fetching
  }

  async #fetch(topic: string, partition: number, max: number): Promise<number> {
    const id = partitionId(topic, partition)
    const from = this.position(topic, partition)
    this.#position.set(id, from)
    const entries = this.#log(topic, partition).filter((e) => e.offset >= from).slice(0, max)
    const last = entries[entries.length - 1]!.offset
    const messages: KafkaMessageLike[] = entries.filter((e) => e.control !== true).map((e) => ({
      offset: String(e.offset),
      key: e.key === null ? null : Buffer.from(e.key),
      value: e.value === null ? null : Buffer.from(e.value),
      timestamp: String(1_700_000_000_000 + e.offset),
      headers: {},
    }))
    const generation = this.#generation
    const highWatermark = String(logEnd(this.#log(topic, partition)))
    if (messages.length > 0) {
      const lastMessage = messages[messages.length - 1]!.offset
      await this.#eachBatch!({
        batch: { topic, partition, messages, lastOffset: () => String(last), highWatermark },
        resolveOffset: (offset) => {
          if (this.#generation === generation) this.#position.set(id, (offset === lastMessage ? last : Number(offset)) + 1)
        },
        heartbeat: async () => {
          if (this.#rebalancing || this.#generation !== generation) throw kafkaError('The group is rebalancing', 'REBALANCE_IN_PROGRESS', true)
        },
        isRunning: () => this.#running,
        isStale: () => false,
      })
    } else {
      this.#position.set(id, last + 1) // markers only: kafkajs resolves them itself
    }
    this.#emit(EVENTS.END_BATCH_PROCESS, { topic, partition, batchSize: messages.length, lastOffset: String(last), highWatermark })
    return messages.length
  }

  async commitOffsets(offsets: TopicPartitionOffsetLike[]): Promise<void> {
    const generation = this.#generation
    await this.group.arrival() // a round trip at least: commits are never acknowledged synchronously
    if (this.#killed || !this.#running) return // a dead process sends nothing; kafkajs drops commits once stopped
    if (this.group.takeFailure()) {
      this.group.record({ ...this.actor, kind: 'commit-refused', reason: 'injected failure' })
      throw kafkaError('The coordinator is not available', 'COORDINATOR_NOT_AVAILABLE', true)
    }
    if (generation !== this.group.generation) {
      this.group.record({ ...this.actor, kind: 'commit-refused', reason: `generation ${generation} is not ${this.group.generation}` })
      throw kafkaError('The provided generation id is not the current generation', 'ILLEGAL_GENERATION', false)
    }
    for (const { topic, partition, offset } of offsets) {
      const owned = this.#assignment[topic]?.includes(partition) === true
      this.group.committed.set(partitionId(topic, partition), Number(offset))
      this.group.record({ ...this.actor, kind: 'commit', generation, topic, partition, offset: Number(offset), owned })
    }
  }

  pause(topicPartitions: TopicPartitionsLike[]): void {
    for (const { topic, partitions } of topicPartitions) for (const p of partitions ?? []) this.#paused.add(partitionId(topic, p))
  }

  resume(topicPartitions: TopicPartitionsLike[]): void {
    for (const { topic, partitions } of topicPartitions) for (const p of partitions ?? []) this.#paused.delete(partitionId(topic, p))
  }

  paused(): TopicPartitionsLike[] {
    return [...this.#paused].map((id) => ({ topic: id.split('\u0000')[0]!, partitions: [Number(id.split('\u0000')[1])] }))
  }

  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.#emit(EVENTS.STOP, {})
    await this.idle()
    await this.group.leave(this)
  }

  async disconnect(): Promise<void> {
    await this.stop()
  }

  /** SIGKILL: nothing this process sends reaches the broker from now on; the group rebalances without it. */
  kill(): Promise<void> {
    this.#killed = true
    return this.group.leave(this)
  }

  on(eventName: string, listener: (event: ConsumerEventLike<any>) => void): () => void {
    let set = this.#listeners.get(eventName)
    if (set === undefined) this.#listeners.set(eventName, (set = new Set()))
    set.add(listener)
    return () => void set.delete(listener)
  }

  #emit(eventName: string, payload: unknown): void {
    for (const listener of [...(this.#listeners.get(eventName) ?? [])]) listener({ payload })
  }

  #log(topic: string, partition: number): readonly LogEntry[] {
    return this.logs.get(topic)?.[partition] ?? []
  }
}
