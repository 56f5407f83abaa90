import type { Subscriber } from 'rxjs'
import type { Decoder } from '../record/decoders'
import { Drain, DrainTimeoutError, listenAbort } from './drain'
import { ConsumerReuseError } from './consumer-reuse-error'
import { FetchGate } from './fetch-gate'
import { BudgetWait } from './budget-wait'
import { KafkaCommitSink } from './commit-sink'
import { decodeRecord, undecodedRecord, type SessionRecord } from './record-decoding'
import { commitPastControlBatch, nextOffset } from './control-batches'
import { refuseSeeks } from './refuse-seeks'
import { settleSubscriberShapes } from './subscriber-shapes'
import { CommittedMaps, type SkipSet } from './finished-skips'
import type { OffsetMapSettings } from './offset-map-options'
import type {
  ConsumerEventLike,
  CrashPayloadLike,
  EachBatchPayloadLike,
  EndBatchProcessPayloadLike,
  GroupJoinPayloadLike,
  KafkaConsumerLike,
  KafkaMessageLike,
} from '../client/consumer'
import type { OffsetTracker } from '../tracker/offset-tracker'
import type { OwnedPartition, PartitionEpochs } from '../tracker/partition-epochs'
import type { TrackedCommitOffset } from '../record/record'

export type { SessionRecord } from './record-decoding'

/** `fromKafka`'s options, checked and with their defaults applied (`{ maxInFlight: 10_000, ... }`). */
export interface Settings<K, V> {
  topics: (string | RegExp)[]
  fromBeginning: boolean
  maxInFlight: number
  resumeBelow: number
  keyDecoder: Decoder<K> | undefined
  valueDecoder: Decoder<V> | undefined
  partitionsConsumedConcurrently: number | undefined
  heartbeatInterval: number
  /** Aborting it drains the subscription (see `Drain`), then completes it. */
  signal: AbortSignal | undefined
  drainTimeout: number
  /** Offset maps in commits, read back on assignment; undefined: off. */
  offsetMap: OffsetMapSettings | undefined
}

/**
 * One subscription of a `fromKafka` source (internal, not exported from the package): the consumer's whole
 * life from connect to disconnect. It runs `eachBatch` (delivery to the tracker, the in-flight budget and
 * its wait), follows the group through instrumentation events (GROUP_JOIN, REBALANCING, STOP, CRASH,
 * END_BATCH_PROCESS), sends commits through its {@link KafkaCommitSink} and shuts down in order: final
 * commit, then stop, then disconnect.
 *
 * @example
 * const session = new Session(consumer, settings, epochs, tracker, subscriber)
 * session.start(undefined)
 * // later, on unsubscribe:
 * await session.close()
 */
export class Session<K, V> {
  /** Settles when close() is over: what `closed()` returns. */
  readonly done: Promise<void>
  #settle!: (error?: unknown) => void
  readonly #sink: KafkaCommitSink
  readonly #gate: FetchGate
  readonly #removers: (() => void)[] = []
  #starting: Promise<void> = Promise.resolve()
  #closing = false
  // Batches waiting inside eachBatch for the in-flight budget.
  readonly #budget: BudgetWait
  // Started by the signal: nothing more is delivered; ends the stream once what was delivered finished.
  readonly #drain: Drain
  // With the offsetMap option: the maps read back per assignment, and the records handed on as skipped.
  readonly #maps: CommittedMaps | undefined
  readonly #skipped = new WeakSet<object>()
  #anySkipped = false

  constructor(
    readonly consumer: KafkaConsumerLike,
    readonly settings: Settings<K, V>,
    readonly epochs: PartitionEpochs,
    readonly tracker: OffsetTracker,
    readonly subscriber: Subscriber<SessionRecord<K, V>>,
  ) {
    const { offsetMap } = settings
    const finishedAbove = tracker.finishedAbove.bind(tracker)
    this.#sink = new KafkaCommitSink(consumer, epochs, offsetMap && { finishedAbove, maxBytes: offsetMap.maxBytes })
    this.#maps = offsetMap && new CommittedMaps(offsetMap.admin, offsetMap.groupId)
    this.#gate = new FetchGate(consumer, () => epochs.assigned())
    this.#budget = new BudgetWait(this.#gate, settings.heartbeatInterval)
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error))
    })
    this.done.catch(() => undefined) // reported through closed(), never as an unhandled rejection
    this.#drain = new Drain(() => tracker.inFlight, settings.drainTimeout, (drained) => {
      if (this.#closing) return
      if (drained) subscriber.complete()
      else subscriber.error(DrainTimeoutError.of(tracker, settings.drainTimeout))
    })
  }

  start(previousShutdown: Promise<void> | undefined): void {
    settleSubscriberShapes()
    this.#removers.push(listenAbort(this.settings.signal, () => this.#abort()))
    this.#starting = (async () => {
      // A resubscription (retry, repeat) waits for the previous one to have disconnected.
      if (previousShutdown !== undefined) await previousShutdown
      if (this.#closing) return
      // Nothing is owned by this subscription until its first GROUP_JOIN.
      this.epochs.revokeAll()
      this.#listen()
      this.#removers.push(refuseSeeks(this.consumer))
      const { consumer, settings } = this
      await consumer.connect()
      if (this.#closing) return
      await consumer.subscribe({ topics: settings.topics, fromBeginning: settings.fromBeginning })
      if (this.#closing) return
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        ...(settings.partitionsConsumedConcurrently === undefined ? {} : { partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently }),
        eachBatch: async (payload) => this.#eachBatch(payload),
      })
    })()
    this.#starting.catch((error) => this.#fail(previousShutdown === undefined ? error : new ConsumerReuseError(error)))
  }

  async commit(offsets: readonly TrackedCommitOffset[]): Promise<readonly TrackedCommitOffset[]> {
    const sent = await this.#sink.commit(offsets)
    this.tracker.committed(sent)
    return sent
  }

  /** True when the record was handed on as already finished by an earlier owner (the offsetMap option). */
  isSkipped(record: object): boolean {
    return this.#anySkipped && this.#skipped.has(record)
  }

  /** True while fetching is paused for the in-flight budget (every owned partition at once). */
  get paused(): boolean {
    return this.#gate.paused
  }

  /** The tracker released budget: resume fetching (and waiting batches) once at the low-water mark. */
  released(inFlight: number): void {
    this.#drain.released(inFlight)
    if (inFlight <= this.settings.resumeBelow && !this.#closing && !this.#drain.started && this.#gate.paused) {
      this.#gate.resume()
      this.#budget.wake()
    }
  }

  /** The signal aborted: deliver nothing more, fetch nothing more, and end once the delivered records finished. */
  #abort(): void {
    if (this.#closing) return
    this.#gate.pause()
    this.#budget.wake()
    this.#drain.start()
  }

  /** Stops delivering, commits what is finished, then stops and disconnects the consumer. */
  async close(): Promise<void> {
    try {
      await this.#close()
      this.#settle()
    } catch (error) {
      this.#settle(error)
      throw error
    }
  }

  async #close(): Promise<void> {
    this.#closing = true
    this.#drain.cancel()
    this.#budget.wake() // a batch waiting for budget returns, so that kafkajs can stop
    const errors: unknown[] = []
    await this.#starting.catch(() => undefined)
    try {
      // After a commit in flight, what finished since: before stop(), which would silently drop it.
      await this.#sink.idle()
      const sent = await this.#sink.commit(this.tracker.committable())
      this.tracker.committed(sent)
    } catch (error) {
      errors.push(error)
    }
    for (const step of [() => this.consumer.stop(), () => this.consumer.disconnect()]) {
      try {
        await step()
      } catch (error) {
        errors.push(error)
      }
    }
    // kafkajs's STOP revoked everything already; a client that sends none: nothing is owned after shutdown.
    if (this.epochs.owning) this.#revokeAll(false)
    for (const remove of this.#removers.splice(0)) remove()
    if (errors.length > 0) throw errors.length === 1 ? errors[0] : new AggregateError(errors, 'fromKafka: shutdown failed')
  }

  #fail(error: unknown): void {
    if (!this.#closing) this.subscriber.error(error)
  }

  #listen(): void {
    const { consumer } = this
    const on = <P>(name: string | undefined, handler: (payload: P) => void): void => {
      if (name === undefined) return
      this.#removers.push(
        consumer.on(name, (event: ConsumerEventLike<P>) => {
          // A listener that throws would throw inside kafkajs (in the middle of a rejoin): error the stream.
          try {
            handler(event.payload)
          } catch (error) {
            this.#fail(error)
          }
        }),
      )
    }
    const { events } = consumer
    on<GroupJoinPayloadLike>(events.GROUP_JOIN, (p) => this.#assigned(p.memberAssignment))
    on<unknown>(events.REBALANCING, () => this.#revokeAll(true))
    on<unknown>(events.STOP, () => this.#revokeAll(false))
    on<CrashPayloadLike>(events.CRASH, (p) => {
      if (!p.restart) this.#fail(p.error)
    })
    on<EndBatchProcessPayloadLike>(events.END_BATCH_PROCESS, (p) => {
      if (!this.#closing) commitPastControlBatch(p, this.epochs, this.tracker, this.#sink)
    })
  }

  #assigned(assignment: Readonly<Record<string, readonly number[]>>): void {
    // A rejoin without REBALANCING first (kafkajs rejoins on stale metadata, and after a crash restart):
    // the old generation is gone, so its offsets are not committed.
    this.#revokeAll(false)
    this.epochs.assign(assignment)
    this.#maps?.assigned(assignment, this.epochs.generation)
    this.#gate.reassigned()
  }

  #revokeAll(commitFirst: boolean): void {
    if (commitFirst && this.epochs.owning) {
      const owned = this.tracker.committable().filter((o) => this.epochs.epochOf(o.topic, o.partition) === o.epoch)
      this.epochs.revokeAll()
      // Sent at once while kafkajs still holds the old generation; dropped if another rejoin came first.
      if (owned.length > 0) this.#sink.commitRevoked(owned, this.epochs.generation).catch(() => undefined)
    } else {
      this.epochs.revokeAll()
    }
    this.tracker.revokeAll()
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayloadLike): Promise<void> {
    const { generation } = this.epochs
    if (this.#stopped(generation)) return
    const { topic, partition, messages } = batch
    const lane = this.epochs.lane(topic, partition)
    lane.highWatermark = batch.highWatermark // for stats (pipelineStats's lag)
    // kafkajs's isRunning()/isStale() are read at the start and after every wait, not per record: isStale()
    // builds a JSON key per call (about a tenth of a no-op pipeline's time), and it can only turn true through
    // a seek, which the source refuses while it runs (refuse-seeks.ts).
    const kafkaStopped = (): boolean => !isRunning() || isStale()
    if (kafkaStopped()) return
    // Fetched once per assignment and looked up per batch: the committed map's finished records (usually none).
    const skip = this.#maps === undefined ? undefined : await this.#maps.skipsFor(lane, generation)
    if (skip !== undefined && (this.#stopped(generation) || kafkaStopped())) return
    let delivered = 0
    let kafkaError: { error: unknown } | undefined
    try {
      for (;;) {
        delivered = this.#deliver(lane, messages, delivered, generation, skip)
        if (delivered === messages.length || this.#stopped(generation)) break
        // Budget used: pause every partition (no other fetch) and wait (see BudgetWait) until finished
        // records bring the budget back to resumeBelow.
        this.#gate.pause()
        kafkaError = await this.#budget.wait(heartbeat, () => this.#stopped(generation))
        if (kafkaError !== undefined || kafkaStopped()) break
      }
      // A rejoin while this batch waited gave the partition a new epoch and kafkajs a new fetch position,
      // which a stale resolve must not move.
      if (this.epochs.epochOf(topic, partition) === lane.epoch) {
        // Only what was delivered: the rest of the batch is fetched again.
        if (delivered > 0) resolveOffset(messages[delivered - 1]!.offset)
        if (delivered === messages.length) {
          // The fetch covered offsets past the last message (control records, compaction): so may the commit.
          this.tracker.advance(topic, partition, lane.epoch, nextOffset(batch.lastOffset()))
        }
      }
    } catch (error) {
      // Our own failure: never thrown into kafkajs (it would restart the consumer); the stream errors instead.
      this.#fail(error)
    }
    // kafkajs's own (a heartbeat that found the group rebalancing): thrown, so that kafkajs rejoins.
    if (kafkaError !== undefined) throw kafkaError.error
  }

  /**
   * Delivers `messages` from index `from` on, until the in-flight budget is used or the stream stops, and
   * returns the index it reached. Kept apart from the async `#eachBatch`, and without closures, so that
   * V8 keeps it optimized across batches: a per-batch closure called per record (the old `stop`) made
   * `#eachBatch` deoptimize at every batch, and the next batch's loop ran unoptimized until it recompiled.
   */
  #deliver(lane: OwnedPartition, messages: readonly KafkaMessageLike[], from: number, generation: number, skip: SkipSet | undefined): number {
    const { tracker, subscriber } = this
    const { maxInFlight, keyDecoder, valueDecoder } = this.settings
    // A clock read per record costs about as much as delivering it: one per 64 records dates a record's
    // delivery at most 63 synchronous deliveries early, which only ages it.
    let now = tracker.now()
    const decoding = keyDecoder !== undefined || valueDecoder !== undefined
    let at = from
    for (; at < messages.length; at++) {
      if (tracker.inFlight >= maxInFlight || this.#stopped(generation)) break
      const message = messages[at]!
      const record = decoding ? decodeRecord<K, V>(lane, message, keyDecoder, valueDecoder) : undecodedRecord<K, V>(lane, message)
      if ((at & 63) === 63) now = tracker.now()
      tracker.deliver(record, now)
      if (skip !== undefined && skip.has(message.offset)) this.#skip(record)
      subscriber.next(record)
    }
    return at
  }

  #skip(record: object): void {
    this.#anySkipped = true
    this.#skipped.add(record)
  }

  /** Nothing more is delivered: closing, draining, unsubscribed, or the group moved on from `generation`. */
  #stopped(generation: number): boolean {
    return this.#closing || this.#drain.started || this.subscriber.closed || this.epochs.generation !== generation
  }
}
