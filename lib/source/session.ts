import type { Subscriber } from 'rxjs'
import type { Decoder } from '../record/decoders'
import { Drain, DrainTimeoutError, listenAbort } from './drain'
import { ConsumerReuseError } from './consumer-reuse-error'
import { BudgetWait } from './budget-wait'
import { RebalanceDrain, isRebalanceError } from './rebalance-drain'
import { FairBudget } from './fair-budget'
import { CaughtUpLanes } from './caught-up-lanes'
import { yieldsBatch } from './batch-yield'
import { KafkaCommitSink } from './commit-sink'
import { StartCommits } from './start-commits'
import type { DelegatedCommits } from './delegated-commits'
import { CommitsDelegatedError } from './commits-delegated-error'
import { decodeRecord, undecodedRecord, type SessionRecord } from './record-decoding'
import { commitPastControlBatch, nextOffset } from './control-batches'
import { refuseSeeks } from './refuse-seeks'
import { settleSubscriberShapes } from './subscriber-shapes'
import { CommittedMaps, type SkipSet } from './finished-skips'
import type { OffsetMapSettings } from './offset-map-options'
import { unionRanges } from '../tracker/range-union'
import type {
  ConsumerEventLike,
  CrashPayloadLike,
  EachBatchPayloadLike,
  EndBatchProcessPayloadLike,
  GroupJoinPayloadLike,
  KafkaConsumerLike,
  KafkaMessageLike,
  PartitionsChangedPayloadLike,
} from '../client/consumer'
import type { OffsetTracker } from '../tracker/offset-tracker'
import type { OwnedPartition, PartitionEpochs } from '../tracker/partition-epochs'
import type { RecordOrigin, TrackedCommitOffset } from '../record/record'

export type { SessionRecord } from './record-decoding'

// A lingering batch (see #linger) returns after this many budget heartbeat intervals without a finished record.
const LINGER_QUIET = 3

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
  /** Ms the records in flight may take to finish when the group rebalances, before the member rejoins; 0: off. */
  drainOnRebalance: number
}

/**
 * One subscription of a `fromKafka` source (internal, not exported from the package): the consumer's whole
 * life from connect to disconnect. It runs `eachBatch` (delivery to the tracker, the in-flight budget and
 * its wait), follows the group through instrumentation events (GROUP_JOIN, REBALANCING, STOP, CRASH,
 * END_BATCH_PROCESS, and PARTITIONS_CHANGED from incremental clients), sends commits through its {@link KafkaCommitSink} and shuts down in order: final
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
  // The start position of each assignment, committed before its first record is delivered.
  readonly #starts: StartCommits
  // The in-flight budget, shared fairly across the owned partitions (see FairBudget).
  readonly #fair: FairBudget
  // Batches held for the budget now (not for a drain or a shutdown): for stats.
  #heldForBudget = 0
  // Per partition, when its batch last went back to kafkajs undelivered (see yieldsBatch): tracker.totalDelivered
  // at the last two times (the partition may come last in one fetch response and first in the next), and how
  // many of its records had finished.
  readonly #yields = new WeakMap<OwnedPartition, { older: number; last: number; finished: number }>()
  readonly #removers: (() => void)[] = []
  #starting: Promise<void> = Promise.resolve()
  #closing = false
  // consumer.stop() was called: every held batch returns, so that kafkajs's fetchers can end.
  #stopping = false
  // Batches held inside eachBatch: for the in-flight budget, or while draining and shutting down.
  readonly #budget: BudgetWait
  // Started by the signal: nothing more is delivered; ends the stream once what was delivered finished.
  readonly #drain: Drain
  // With the offsetMap option: the maps read back per assignment, and the records handed on as skipped.
  readonly #maps: CommittedMaps | undefined
  readonly #skipped = new WeakSet<object>()
  #anySkipped = false
  // Started by a heartbeat that found the group rebalancing: nothing more is delivered until the rejoin.
  readonly #rebalance: RebalanceDrain
  // Batches kept in eachBatch after their last record while owned records run (see #linger).
  #lingering = 0
  // Which owned partitions have nothing left to deliver: a batch lingers only when all the others are so.
  readonly #caughtUp = new CaughtUpLanes()

  constructor(
    readonly consumer: KafkaConsumerLike,
    readonly settings: Settings<K, V>,
    readonly epochs: PartitionEpochs,
    readonly tracker: OffsetTracker,
    readonly subscriber: Subscriber<SessionRecord<K, V>>,
    // Set when publishTransactional owns the group's offsets: then no commit goes through the consumer.
    readonly delegate?: DelegatedCommits,
  ) {
    const { offsetMap } = settings
    const maps = offsetMap && new CommittedMaps(offsetMap.admin, offsetMap.groupId)
    this.#maps = maps
    // A commit names what finished in this epoch and what the map it read back named (see inheritedOf).
    const finishedAbove = (topic: string, partition: number, epoch: number, from: number): number[] =>
      unionRanges(tracker.finishedAbove(topic, partition, epoch, from), maps?.inheritedOf(topic, partition, epoch) ?? [], from)
    this.#sink = new KafkaCommitSink(consumer, epochs, offsetMap && { finishedAbove, maxBytes: offsetMap.maxBytes })
    this.#starts = new StartCommits(this.#sink, delegate)
    this.#budget = new BudgetWait(settings.heartbeatInterval)
    this.#fair = new FairBudget(settings.maxInFlight, settings.resumeBelow)
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error))
    })
    this.done.catch(() => undefined) // reported through closed(), never as an unhandled rejection
    const noCommit = { commit: async () => [] }
    this.#rebalance = new RebalanceDrain(settings.drainOnRebalance, tracker, epochs, delegate === undefined ? this.#sink : noCommit)
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
      this.#maps?.warm(this.settings.topics)
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
    if (this.delegate !== undefined) {
      throw new CommitsDelegatedError()
    }
    const sent = await this.#sink.commit(offsets)
    this.tracker.committed(sent)
    return sent
  }

  /** True when the record was handed on as already finished by an earlier owner (the offsetMap option). */
  isSkipped(record: object): boolean {
    return this.#anySkipped && this.#skipped.has(record)
  }

  /** True while a batch is held for the in-flight budget: held batches stop their fetchers. */
  get paused(): boolean {
    return this.#heldForBudget > 0
  }

  /** The tracker released `origin`'s place: held batches re-check once one of them may go on (FairBudget). */
  released(inFlight: number, origin: RecordOrigin): void {
    this.#drain.released(inFlight)
    this.#rebalance.released()
    if (this.#lingering > 0 && inFlight === 0) this.#budget.wake()
    const { topic, partition, epoch } = origin
    this.#fair.finished(topic, partition, epoch)
    if (this.#heldForBudget > 0 && !this.#closing && !this.#drain.started && this.#fair.wakes(topic, partition, epoch)) this.#budget.wake()
  }

  /**
   * The signal aborted: deliver nothing more, and end once the delivered records finished. Fetching stops
   * because every batch fetched from now on is held in eachBatch until the consumer stops.
   */
  #abort(): void {
    if (this.#closing) return
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
    this.#rebalance.reset()
    const errors: unknown[] = []
    await this.#starting.catch(() => undefined)
    try {
      // After a commit in flight, what finished since: before stop(), which would silently drop it.
      // (With a delegate its transactions committed what finished: a plain commit here could rewind them.)
      await this.#sink.idle()
      if (this.delegate === undefined) this.tracker.committed(await this.#sink.commit(this.tracker.committable()))
    } catch (error) {
      errors.push(error)
    }
    const stop = (): Promise<void> => {
      // kafkajs's stop() waits for every eachBatch: the held ones return once it marked itself stopped.
      this.#stopping = true
      const stopped = this.consumer.stop()
      this.#budget.wake()
      return stopped
    }
    for (const step of [stop, () => this.consumer.disconnect()]) {
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
    on<PartitionsChangedPayloadLike>(events.PARTITIONS_CHANGED, (p) => this.#changed(p))
    on<unknown>(events.STOP, () => this.#revokeAll(false))
    on<unknown>(events.FETCH_START, () => this.#caughtUp.fetchStarted())
    on<CrashPayloadLike>(events.CRASH, (p) => {
      if (!p.restart) this.#fail(p.error)
    })
    on<EndBatchProcessPayloadLike>(events.END_BATCH_PROCESS, (p) => {
      if (!this.#closing) commitPastControlBatch(p, this.epochs, this.tracker, this.delegate ?? this.#sink)
    })
  }

  #assigned(assignment: Readonly<Record<string, readonly number[]>>): void {
    // A rejoin without REBALANCING first (kafkajs rejoins on stale metadata, and after a crash restart):
    // the old generation is gone, so its offsets are not committed.
    this.#revokeAll(false)
    this.#rebalance.reset()
    this.epochs.assign(assignment)
    const lanes = this.epochs.ownedLanes()
    this.#fair.assign(lanes)
    this.#caughtUp.assign(lanes)
    this.#maps?.assigned(assignment, this.epochs.generation)
    this.#budget.wake() // held batches of the old generation return, so that kafkajs's rejoin goes on
  }

  /**
   * An incremental rebalance: only the listed partitions stop (their finished work is committed first, while
   * still owned) or start; the others keep flowing, their epochs, held batches and budget shares untouched.
   */
  #changed({ revoked, assigned }: PartitionsChangedPayloadLike): void {
    const leaving = new Set<string>()
    for (const { topic, partitions } of revoked) for (const p of partitions) leaving.add(`${topic}\u0000${p}`)
    const owned =
      leaving.size === 0 || this.delegate !== undefined
        ? []
        : this.tracker.committable().filter((o) => leaving.has(`${o.topic}\u0000${o.partition}`) && this.epochs.epochOf(o.topic, o.partition) === o.epoch)
    const lanes = this.epochs.change(revoked, assigned)
    for (const lane of lanes.revoked) this.tracker.revoke(lane.topic, lane.partition)
    // Sent at once, while the client still reports these partitions as owned (it acknowledges the revoke to
    // the group with its next heartbeat); the generation check drops it if an eager rejoin came in between.
    if (owned.length > 0) this.#sink.commitRevoked(owned, this.epochs.generation).catch(() => undefined)
    this.#fair.change(lanes.revoked, lanes.assigned)
    this.#caughtUp.assign(this.epochs.ownedLanes())
    if (lanes.revoked.length > 0) this.#budget.wake() // held batches of revoked partitions return at once
  }

  #revokeAll(commitFirst: boolean): void {
    this.#rebalance.reset()
    if (commitFirst && this.epochs.owning && this.delegate === undefined) {
      const owned = this.tracker.committable().filter((o) => this.epochs.epochOf(o.topic, o.partition) === o.epoch)
      this.epochs.revokeAll()
      // Sent at once while kafkajs still holds the old generation; dropped if another rejoin came first.
      if (owned.length > 0) this.#sink.commitRevoked(owned, this.epochs.generation).catch(() => undefined)
    } else {
      this.epochs.revokeAll()
    }
    this.tracker.revokeAll()
    this.#fair.revokeAll()
    this.#budget.wake() // held batches of the revoked generation return at once, not at their next heartbeat
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayloadLike): Promise<void> {
    const { generation } = this.epochs
    const { topic, partition, messages } = batch
    // While draining or closing a batch with messages is held (below), so that its fetcher fetches nothing more.
    if (messages.length === 0 && this.#stopped(generation)) return
    const lane = this.epochs.lane(topic, partition)
    lane.highWatermark = batch.highWatermark // for stats (pipelineStats's lag)
    // kafkajs's isRunning()/isStale() are read at the start and after every wait, not per record: isStale()
    // builds a JSON key per call (about a tenth of a no-op pipeline's time), and it can only turn true through
    // a seek, which the source refuses while it runs (refuse-seeks.ts).
    const kafkaStopped = (): boolean => !isRunning() || isStale()
    if (kafkaStopped()) return
    // Fetched once per assignment and looked up per batch: the committed map's finished records (usually none).
    const skip = this.#maps === undefined ? undefined : await this.#maps.skipsFor(lane, generation)
    if (skip !== undefined && (this.epochs.generation !== generation || kafkaStopped())) return
    let delivered = 0
    let kafkaError: { error: unknown } | undefined
    try {
      // A new assignment's first batch: its start position is made durable before anything is delivered.
      let start: TrackedCommitOffset | undefined
      if (!this.#starts.durable(lane) && messages.length > 0) {
        start = await this.#starts.commit(lane, messages[0]!.offset)
        if (start === undefined || kafkaStopped()) return
      }
      for (;;) {
        delivered = this.#deliver(lane, messages, delivered, generation, skip)
        // Reported once the epoch has a delivery to attach it to (stats: `committed`).
        if (start !== undefined && delivered > 0) {
          this.tracker.committed([start])
          start = undefined
        }
        if (delivered === messages.length) break
        if (this.#releases(generation, lane, kafkaStopped)) break
        // Budget used (or draining, or closing): hold the batch, and with it its fetcher (see BudgetWait),
        // unless another partition is ready: then the batch goes back to kafkajs (see yieldsBatch).
        const waitStart = this.tracker.now()
        let yields = false
        const hold = (): boolean => {
          yields = false
          if (this.#releases(generation, lane, kafkaStopped)) return false
          if (this.#stopped(generation)) return true
          if (this.#fair.ready(topic, partition, lane.epoch)) return false
          const last = this.#yields.get(lane)
          yields = yieldsBatch({
            readyOther: this.#fair.readyOther(topic, partition),
            deliveredSince: this.tracker.totalDelivered > (last?.older ?? -1),
            stuck: this.#fair.shareOf(topic, partition, lane.epoch).finished === (last?.finished ?? 0),
            waitedMs: this.tracker.now() - waitStart,
            interval: this.settings.heartbeatInterval,
          })
          return !yields
        }
        const forBudget = !this.#stopped(generation)
        if (forBudget) this.#heldForBudget++
        try {
          kafkaError = await this.#budget.wait(heartbeat, hold)
        } finally {
          if (forBudget) this.#heldForBudget--
        }
        if (kafkaError !== undefined || this.#releases(generation, lane, kafkaStopped)) break
        if (yields) {
          const { finished } = this.#fair.shareOf(topic, partition, lane.epoch)
          this.#yields.set(lane, { older: this.#yields.get(lane)?.last ?? -1, last: this.tracker.totalDelivered, finished })
          break
        }
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
      if (this.settings.drainOnRebalance > 0) {
        const { highWatermark } = batch
        const caughtUp = delivered === messages.length && highWatermark !== undefined && Number(batch.lastOffset()) + 1 >= Number(highWatermark)
        this.#caughtUp.batchEnded(lane, caughtUp)
        if (kafkaError === undefined && messages.length > 0) {
          kafkaError = await this.#linger(generation, lane, kafkaStopped, heartbeat, caughtUp)
        }
        if (kafkaError !== undefined && isRebalanceError(kafkaError.error) && !this.#closing && !this.#stopping) {
          await this.#rebalance.run(heartbeat, this.settings.heartbeatInterval)
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
    const fair = this.#fair
    const share = fair.shareOf(lane.topic, lane.partition, lane.epoch)
    const { keyDecoder, valueDecoder } = this.settings
    // A clock read per record costs about as much as delivering it: one per 64 records dates a record's
    // delivery at most 63 synchronous deliveries early, which only ages it.
    let now = tracker.now()
    const decoding = keyDecoder !== undefined || valueDecoder !== undefined
    let at = from
    for (; at < messages.length; at++) {
      if (!fair.mayDeliverTo(share) || this.#stopped(generation) || lane.revoked === true) break
      const message = messages[at]!
      const record = decoding ? decodeRecord<K, V>(lane, message, keyDecoder, valueDecoder) : undecodedRecord<K, V>(lane, message)
      if ((at & 63) === 63) now = tracker.now()
      tracker.deliver(record, now)
      fair.deliveredTo(share)
      if (skip !== undefined && skip.has(message.offset)) this.#skip(record)
      subscriber.next(record)
    }
    return at
  }

  /**
   * A held batch returns to kafkajs without delivering the rest (fetched again later): kafkajs is stopping or
   * stopped, the group moved on from `generation`, or the user paused the partition with `consumer.pause()`
   * (its pause holds: the rest is not delivered before they resume it).
   */
  #releases(generation: number, lane: OwnedPartition, kafkaStopped: () => boolean): boolean {
    if (this.#stopping || kafkaStopped() || this.epochs.generation !== generation || lane.revoked === true) return true
    const { topic, partition } = lane
    const paused = this.consumer.paused?.()
    return paused !== undefined && paused.some((tp) => tp.topic === topic && tp.partitions?.includes(partition) === true)
  }

  #skip(record: object): void {
    this.#anySkipped = true
    this.#skipped.add(record)
  }

  /**
   * When a batch returns while records of owned partitions run: makes sure a rebalance is found by a
   * heartbeat inside eachBatch, where the source can drain before kafkajs rejoins, not by the runner's own
   * heartbeat after the batch or after an empty fetch, where it rejoins at once. First a heartbeat now (kafkajs
   * sends it only once its interval passed; a success then keeps the runner's own from sending for as long),
   * also for a batch handed back undelivered (yielded to another partition, or paused). Then, when the batch
   * was delivered up to the partition's high watermark and every other owned partition is caught up too
   * (nothing more to fetch or deliver now, so the next thing kafkajs would do is a long poll ended by its
   * heartbeat; see CaughtUpLanes), the batch stays here, heartbeating, until the owned records finished,
   * kafkajs stops, or no record finished for a while (a pipeline waiting for more records to finish those it
   * holds must get them: see LINGER_QUIET). Returns the heartbeat's error.
   */
  async #linger(
    generation: number, lane: OwnedPartition, kafkaStopped: () => boolean,
    heartbeat: () => Promise<void>, caughtUp: boolean,
  ): Promise<{ error: unknown } | undefined> {
    if (this.#stopping || this.#closing || kafkaStopped() || this.#rebalance.ownedInFlight() === 0) return undefined
    try {
      await heartbeat()
    } catch (error) {
      return { error }
    }
    // Another partition's batch may wait behind this one (same fetch response): it goes first.
    if (!caughtUp || !this.#caughtUp.othersCaughtUp(lane)) return undefined
    const quiet = LINGER_QUIET * this.settings.heartbeatInterval
    let finished = this.tracker.totalFinished
    let since = this.tracker.now()
    const hold = (): boolean => {
      if (this.#closing || this.#releases(generation, lane, kafkaStopped)) return false
      if (this.#rebalance.ownedInFlight() === 0) return false
      if (this.tracker.totalFinished !== finished) {
        finished = this.tracker.totalFinished
        since = this.tracker.now()
      }
      return this.tracker.now() - since < quiet
    }
    this.#lingering++
    try {
      return await this.#budget.wait(heartbeat, hold)
    } finally {
      this.#lingering--
    }
  }

  /** Nothing more is delivered: closing, draining, unsubscribed, or the group moved on from `generation`. */
  #stopped(generation: number): boolean {
    return this.#closing || this.#drain.started || this.#rebalance.active || this.subscriber.closed || this.epochs.generation !== generation
  }
}
