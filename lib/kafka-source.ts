import { defer, Observable, type Subscriber } from 'rxjs'
import { bufferDecoder, type DecodeContext, type DecodeFailure, type Decoder } from './decoders'
import { FetchGate } from './fetch-gate'
import { KafkaCommitSink } from './kafka-commit-sink'
import type {
  ConsumerEventLike,
  CrashPayloadLike,
  EachBatchPayloadLike,
  EndBatchProcessPayloadLike,
  GroupJoinPayloadLike,
  KafkaConsumerLike,
  KafkaMessageLike,
} from './kafka-client'
import { OffsetTracker } from './offset-tracker'
import { PartitionEpochs, type OwnedPartition } from './partition-epochs'
import type { KafkaRecord, RecordOrigin, TrackedCommitOffset } from './record'
import type { CommitTarget } from '../operators/commit-offsets'

/** Options of {@link fromKafka}. */
export interface FromKafkaOptions<K, V> {
  /** Topic names or patterns (kafkajs resolves a RegExp against the topics existing at subscribe time). */
  topics: readonly (string | RegExp)[]
  /** Where a group with no committed offset starts: the earliest offset, or (default false) the latest. */
  fromBeginning?: boolean
  /**
   * Most records delivered and not yet finished (across all partitions, revoked ones included). When the
   * budget is used up, fetching pauses. Default 10,000.
   */
  maxInFlight?: number
  /** Fetching resumes once in-flight records fall to this many. Default `Math.floor(maxInFlight / 2)`. */
  resumeBelow?: number
  /** Decodes keys. Default: the Buffer (or null) as fetched. A throw makes a {@link DecodeFailure}. */
  keyDecoder?: Decoder<K>
  /** Decodes values. Default: the Buffer (or null) as fetched. A throw makes a {@link DecodeFailure}. */
  valueDecoder?: Decoder<V>
  /** kafkajs `partitionsConsumedConcurrently`: batches of this many partitions are handed over at once. Default 1. */
  partitionsConsumedConcurrently?: number
  /**
   * While a batch waits for in-flight budget, `heartbeat()` is called this often, in ms (kafkajs only sends
   * one once its own `heartbeatInterval` passed, so this just needs to be well under it). Default 500.
   */
  heartbeatInterval?: number
}

/** What the source emits: a decoded record, or one whose key or value failed to decode. */
export type SourceRecord<K, V> = KafkaRecord<K, V> | DecodeFailure

/**
 * A Kafka consumer as a cold Observable of records, which is also the commit target of the pipeline.
 *
 * `commit` and `tracker` make it a `CommitTarget` for `commitOffsets`; `isStale` fits `groupByKeyConcat`'s
 * `skip` option; `closed()` tells when the last subscription's shutdown is done.
 */
export interface KafkaSource<K, V> extends Observable<SourceRecord<K, V>>, CommitTarget {
  /**
   * The offset tracker of the current (or next) subscription: every record is delivered to it before it is
   * emitted; finishing records (`tracker.finish`, done by `commitOffsets`) releases the in-flight budget.
   * Each subscription gets a fresh tracker (records a cancelled subscription left unfinished must not hold
   * the next one's budget), so read it when subscribing, not once up front.
   */
  readonly tracker: OffsetTracker
  /**
   * Commits offsets computed by the tracker: serialised (one commit in flight), per partition strictly
   * increasing, and dropping at send time every offset whose partition is not owned in that epoch any more.
   * Emits the offsets the broker acknowledged (possibly none), then completes. Lazy: sent on subscribe. A
   * commit made while a subscription shuts down (e.g. `commitOffsets`'s final one) still goes out before the
   * consumer stops.
   */
  commit(offsets: readonly TrackedCommitOffset[]): Observable<readonly TrackedCommitOffset[]>
  /** True when the record's partition was revoked or re-assigned since it was delivered (or no subscription). */
  isStale(record: RecordOrigin): boolean
  /**
   * Settles when the current (else the last) subscription has shut down (final commit, stop, disconnect);
   * rejects with what went wrong there. Resolves at once when never subscribed.
   */
  closed(): Promise<void>
}

// Consumers with a live subscription, or the promise of the shutdown of their last one.
const consumersInUse = new WeakMap<KafkaConsumerLike, { closing: Promise<void> | undefined }>()

/**
 * Consumes Kafka with a kafkajs consumer (or anything shaped like one, see `KafkaConsumerLike`): a cold
 * Observable of records, each delivered to an {@link OffsetTracker} before it is emitted.
 *
 * Subscribing connects, subscribes to `topics` and runs the consumer with `autoCommit: false` and
 * `eachBatchAutoResolve: false`; records come out in partition order, carrying their origin (topic,
 * partition, offset, and the `seq`/`epoch` the tracker needs). Nothing is committed here but through
 * `commit` (usually called by `commitOffsets`). Unsubscribing (or an error) stops delivering, waits for a
 * commit in flight, commits what is finished, and only then stops and disconnects the consumer (kafkajs
 * drops commits once stopped). One subscription at a time per consumer. A kafkajs consumer cannot connect
 * again once disconnected: to subscribe more than once (`retry`, `repeat`), pass a factory that makes a
 * new consumer for each subscription.
 *
 * - **Two cursors.** kafkajs's fetch position is moved (`resolveOffset`) as records are *delivered*; what
 *   may be committed is the tracker's watermark, past *finished* records only. Offsets the fetch skipped
 *   (compaction, transaction markers) are fed to `tracker.advance`, so a fully processed partition ends
 *   with zero lag.
 * - **Back-pressure.** At most `maxInFlight` records delivered and unfinished. When the budget is used up
 *   inside `eachBatch`, every owned partition is paused and the batch waits, calling `heartbeat()` every
 *   `heartbeatInterval` so the member stays in the group, until finished records bring the count down to
 *   `resumeBelow`; then fetching resumes and the batch goes on (waiting there resumes at once, where
 *   kafkajs would only look at paused partitions again after `maxWaitTimeInMs`). A heartbeat that finds
 *   the group rebalancing ends the wait (kafkajs then rejoins); stopping ends it too. Only delivered
 *   records are resolved: what a batch did not deliver is fetched again.
 * - **Rebalances** (kafkajs is eager: every rejoin revokes everything and re-reads from the committed
 *   offsets). On `REBALANCING`, finished work is committed while the old generation still accepts it (best
 *   effort: it is sent at once, and dropped if the group already moved on), then every partition is
 *   revoked. On `GROUP_JOIN` each assigned partition gets a new epoch. Offsets of an epoch that is not
 *   current are never committed, and `isStale(record)` lets `groupByKeyConcat` skip queued work of revoked
 *   partitions. A record delivered again after a rebalance queues behind the earlier, still running record
 *   of its key, as long as the key does not include the epoch (see `recordKey`).
 * - **Decoding.** A record whose key or value the decoder rejects is emitted as a {@link DecodeFailure}
 *   (see `isDecodeFailure`), in its place: never skipped behind the commit's back, never an error.
 * - **Errors.** A failure to connect, subscribe or run, a crash the client does not restart from
 *   (`CRASH` with `restart: false`), or a commit refused for another reason than a rebalance, errors the
 *   stream.
 *
 * ```text
 * kafka:     [b1: r0 r1 r2]    [b2: r3 r4]
 * fromKafka: --r0-r1-r2---------r3-r4-----    (each r delivered to tracker first; resolveOffset(r2), (r4))
 * ```
 *
 * @example
 * ```ts
 * const consumer = kafka.consumer({ groupId: 'billing' })
 * const source = fromKafka(consumer, { topics: ['orders'], maxInFlight: 10_000, valueDecoder: jsonDecoder<Order>() })
 * source.pipe(
 *   groupByKeyConcat(recordKey, (r) => charge(r), { concurrency: 256, skip: (r) => source.isStale(r) }),
 *   orderedMerge(),
 *   commitOffsets(source, { interval: 5_000 }),
 * ).subscribe()
 * ```
 *
 * @param consumer A kafkajs `Consumer` (not connected, not running: the source drives its whole life), or
 *   a function making one, called at every subscription.
 * @param options Topics, budget, decoders; see {@link FromKafkaOptions}.
 * @returns A cold {@link KafkaSource}.
 * @throws {TypeError} At call time, for invalid options.
 */
export function fromKafka<K = Buffer | null, V = Buffer | null>(
  consumer: KafkaConsumerLike | (() => KafkaConsumerLike),
  options: FromKafkaOptions<K, V>,
): KafkaSource<K, V> {
  if (typeof consumer !== 'function' && (consumer === null || typeof consumer !== 'object')) {
    throw new TypeError('fromKafka: consumer must be a kafkajs Consumer or a function making one')
  }
  return new KafkaSourceObservable<K, V>(consumer, checkOptions(options))
}

interface Settings<K, V> {
  topics: (string | RegExp)[]
  fromBeginning: boolean
  maxInFlight: number
  resumeBelow: number
  keyDecoder: Decoder<K> | undefined
  valueDecoder: Decoder<V> | undefined
  partitionsConsumedConcurrently: number | undefined
  heartbeatInterval: number
}

function checkOptions<K, V>(options: FromKafkaOptions<K, V>): Settings<K, V> {
  if (options === null || typeof options !== 'object') throw new TypeError('fromKafka: options are required')
  const { topics, fromBeginning = false, maxInFlight = 10_000, keyDecoder, valueDecoder, partitionsConsumedConcurrently } = options
  const { heartbeatInterval = 500 } = options
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => (typeof t === 'string' && t !== '') || t instanceof RegExp)) {
    throw new TypeError('fromKafka: topics must be a non-empty array of topic names or RegExps')
  }
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new TypeError(`fromKafka: maxInFlight must be an integer >= 1, got ${String(maxInFlight)}`)
  }
  const resumeBelow = options.resumeBelow ?? Math.floor(maxInFlight / 2)
  if (!Number.isInteger(resumeBelow) || resumeBelow < 0 || resumeBelow >= maxInFlight) {
    throw new TypeError(`fromKafka: resumeBelow must be an integer in [0, maxInFlight), got ${String(resumeBelow)}`)
  }
  for (const [name, d] of [['keyDecoder', keyDecoder], ['valueDecoder', valueDecoder]] as const) {
    if (d !== undefined && typeof d !== 'function') throw new TypeError(`fromKafka: ${name} must be a function`)
  }
  if (partitionsConsumedConcurrently !== undefined && (!Number.isInteger(partitionsConsumedConcurrently) || partitionsConsumedConcurrently < 1)) {
    throw new TypeError('fromKafka: partitionsConsumedConcurrently must be an integer >= 1')
  }
  if (typeof heartbeatInterval !== 'number' || !(heartbeatInterval > 0 && heartbeatInterval < 2 ** 31)) {
    throw new TypeError('fromKafka: heartbeatInterval must be a number of ms > 0')
  }
  return {
    topics: [...topics],
    fromBeginning: fromBeginning === true,
    maxInFlight,
    resumeBelow,
    // The default (bytes as fetched) costs nothing: no call at all.
    keyDecoder: keyDecoder === (bufferDecoder as unknown) ? undefined : keyDecoder,
    valueDecoder: valueDecoder === (bufferDecoder as unknown) ? undefined : valueDecoder,
    partitionsConsumedConcurrently,
    heartbeatInterval,
  }
}

class KafkaSourceObservable<K, V> extends Observable<SourceRecord<K, V>> implements KafkaSource<K, V> {
  readonly #consumer: KafkaConsumerLike | (() => KafkaConsumerLike)
  readonly #settings: Settings<K, V>
  // One for the source's life, so epochs only grow: a straggler of an old subscription is never current.
  readonly #epochs = new PartitionEpochs()
  #tracker: OffsetTracker
  #session: Session<K, V> | undefined
  // The live session, else the one shutting down: a commit made while unsubscribing (commitOffsets's final
  // one) still goes out before the consumer stops.
  #committer: Session<K, V> | undefined
  #closed: Promise<void> = Promise.resolve()

  constructor(consumer: KafkaConsumerLike | (() => KafkaConsumerLike), settings: Settings<K, V>) {
    let open: (subscriber: Subscriber<SourceRecord<K, V>>) => () => void = () => () => undefined
    super((subscriber) => open(subscriber))
    open = (subscriber) => this.#open(subscriber)
    this.#consumer = consumer
    this.#settings = settings
    this.#tracker = this.#newTracker()
  }

  get tracker(): OffsetTracker {
    return this.#tracker
  }

  commit(offsets: readonly TrackedCommitOffset[]): Observable<readonly TrackedCommitOffset[]> {
    return defer(async () => (this.#committer === undefined ? [] : this.#committer.commit(offsets)))
  }

  isStale(record: RecordOrigin): boolean {
    return this.#session === undefined || this.#epochs.epochOf(record.topic, record.partition) !== record.epoch
  }

  closed(): Promise<void> {
    return this.#session?.done ?? this.#closed
  }

  #newTracker(): OffsetTracker {
    const tracker: OffsetTracker = new OffsetTracker({
      onRelease: (inFlight) => {
        if (this.#session?.tracker === tracker) this.#session.released(inFlight)
      },
    })
    return tracker
  }

  #open(subscriber: Subscriber<SourceRecord<K, V>>): () => void {
    let consumer: KafkaConsumerLike
    try {
      consumer = typeof this.#consumer === 'function' ? this.#consumer() : this.#consumer
    } catch (error) {
      subscriber.error(error)
      return () => undefined
    }
    const use = consumersInUse.get(consumer)
    if (use !== undefined && use.closing === undefined) {
      subscriber.error(
        new Error('fromKafka: this consumer already has a subscriber; share() the stream, or give each subscription its own consumer'),
      )
      return () => undefined
    }
    const lock = { closing: undefined as Promise<void> | undefined }
    consumersInUse.set(consumer, lock)
    const session = new Session<K, V>(consumer, this.#settings, this.#epochs, this.#tracker, subscriber)
    this.#session = session
    this.#committer = session
    session.start(use?.closing)
    return () => {
      if (this.#session === session) {
        this.#session = undefined
        // Stragglers of this subscription finish against the old tracker; the next one starts clean.
        this.#tracker = this.#newTracker()
      }
      const closing = session.close().finally(() => {
        if (consumersInUse.get(consumer) === lock) consumersInUse.delete(consumer)
        if (this.#committer === session) this.#committer = undefined
      })
      lock.closing = closing.catch(() => undefined)
      this.#closed = session.done
    }
  }
}

/** One subscription: the consumer's whole life from connect to disconnect. */
class Session<K, V> {
  /** Settles when close() is over: what `closed()` returns. */
  readonly done: Promise<void>
  #settle!: (error?: unknown) => void
  readonly #sink: KafkaCommitSink
  readonly #gate: FetchGate
  readonly #removers: (() => void)[] = []
  #starting: Promise<void> = Promise.resolve()
  #closing = false
  // Batches waiting inside eachBatch for the in-flight budget.
  #waiters: (() => void)[] = []

  constructor(
    readonly consumer: KafkaConsumerLike,
    readonly settings: Settings<K, V>,
    readonly epochs: PartitionEpochs,
    readonly tracker: OffsetTracker,
    readonly subscriber: Subscriber<SourceRecord<K, V>>,
  ) {
    this.#sink = new KafkaCommitSink(consumer, epochs)
    this.#gate = new FetchGate(consumer, () => epochs.assigned())
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => (error === undefined ? resolve() : reject(error))
    })
    this.done.catch(() => undefined) // reported through closed(), never as an unhandled rejection
  }

  start(previousShutdown: Promise<void> | undefined): void {
    this.#starting = (async () => {
      // A resubscription (retry, repeat) waits for the previous one to have disconnected.
      if (previousShutdown !== undefined) await previousShutdown
      if (this.#closing) return
      // Nothing is owned by this subscription until its first GROUP_JOIN.
      this.epochs.revokeAll()
      this.#listen()
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
    this.#starting.catch((error) => this.#fail(error))
  }

  async commit(offsets: readonly TrackedCommitOffset[]): Promise<readonly TrackedCommitOffset[]> {
    const sent = await this.#sink.commit(offsets)
    this.tracker.committed(sent)
    return sent
  }

  /** The tracker released budget: resume fetching (and waiting batches) once at the low-water mark. */
  released(inFlight: number): void {
    if (inFlight <= this.settings.resumeBelow && !this.#closing && this.#gate.paused) {
      this.#gate.resume()
      this.#wake()
    }
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
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
    this.#wake() // a batch waiting for budget returns, so that kafkajs can stop
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
      // A batch of control records only (e.g. a transaction marker fetched alone): kafkajs moved its fetch
      // position past it without calling eachBatch, so the commit may move past it too.
      if (p.batchSize !== 0 || this.#closing) return
      const epoch = this.epochs.epochOf(p.topic, p.partition)
      if (epoch === undefined) return
      const next = nextOffset(p.lastOffset)
      let offsets: TrackedCommitOffset[]
      if (this.epochs.lane(p.topic, p.partition).nextSeq > 0) {
        this.tracker.advance(p.topic, p.partition, epoch, next)
        offsets = this.tracker.committable().filter((o) => o.topic === p.topic && o.partition === p.partition)
      } else {
        // Nothing delivered yet in this epoch, so the tracker has no progress to advance: the fetch started
        // at the committed offset and passed only control records, so committing past them is safe.
        offsets = [{ topic: p.topic, partition: p.partition, offset: next, epoch }]
      }
      // Committed here: no record finishes because of it, so commitOffsets would not notice this progress
      // (a quiet transactional partition would keep a lag of its last markers). Best effort, gap-safe.
      if (offsets.length > 0) {
        this.#sink.commit(offsets).then((sent) => this.tracker.committed(sent), () => undefined)
      }
    })
  }

  #assigned(assignment: Readonly<Record<string, readonly number[]>>): void {
    // A rejoin without REBALANCING first (kafkajs rejoins on stale metadata, and after a crash restart):
    // the old generation is gone, so its offsets are not committed.
    this.#revokeAll(false)
    this.epochs.assign(assignment)
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
    const { subscriber, tracker, settings } = this
    if (this.#closing || subscriber.closed) return
    const { topic, partition, messages } = batch
    const lane = this.epochs.lane(topic, partition)
    const stop = (): boolean =>
      this.#closing || subscriber.closed || !isRunning() || isStale() || this.epochs.epochOf(topic, partition) !== lane.epoch
    let last: string | undefined
    let delivered = 0
    let kafkaError: { error: unknown } | undefined
    try {
      while (delivered < messages.length && !stop()) {
        if (tracker.inFlight >= settings.maxInFlight) {
          // Budget used: pause every partition (no other fetch), and wait here, heartbeating, until finished
          // records bring the budget back to resumeBelow. Waiting here rather than returning resumes at once:
          // kafkajs only looks at paused partitions again after sleeping maxWaitTimeInMs.
          this.#gate.pause()
          kafkaError = await this.#budget(heartbeat, stop)
          if (kafkaError !== undefined) break
          continue
        }
        const message = messages[delivered]!
        const record = this.#record(lane, message)
        tracker.deliver(record)
        delivered++
        last = message.offset
        subscriber.next(record)
      }
      // A rejoin while this batch waited gave the partition a new epoch and kafkajs a new fetch position,
      // which a stale resolve must not move.
      if (this.epochs.epochOf(topic, partition) === lane.epoch) {
        // Only what was delivered: the rest of the batch is fetched again.
        if (last !== undefined) resolveOffset(last)
        if (delivered === messages.length) {
          // The fetch covered offsets past the last message (control records, compaction): so may the commit.
          tracker.advance(topic, partition, lane.epoch, nextOffset(batch.lastOffset()))
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
   * Waits until the budget is back (the gate resumed), heartbeating meanwhile so the member stays in the
   * group. Returns the heartbeat's error when it failed (the group is rebalancing), else undefined.
   */
  async #budget(heartbeat: () => Promise<void>, stop: () => boolean): Promise<{ error: unknown } | undefined> {
    while (this.#gate.paused && !stop()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, this.settings.heartbeatInterval)
        function wake(): void {
          clearTimeout(timer)
          resolve()
        }
        this.#waiters.push(wake)
      })
      try {
        await heartbeat()
      } catch (error) {
        return { error }
      }
    }
    return undefined
  }


  #record(lane: OwnedPartition, message: KafkaMessageLike): SourceRecord<K, V> {
    const { topic, partition, epoch } = lane
    const seq = lane.nextSeq++
    const { offset, timestamp } = message
    const headers = message.headers ?? {}
    const { keyDecoder, valueDecoder } = this.settings
    let key: K
    let value: V
    if (keyDecoder === undefined) key = message.key as K
    else {
      try {
        key = keyDecoder(message.key, { topic, partition, offset, headers } satisfies DecodeContext)
      } catch (cause) {
        return decodeFailure(lane, seq, message, headers, message.key, 'key', cause)
      }
    }
    if (valueDecoder === undefined) value = message.value as V
    else {
      try {
        value = valueDecoder(message.value, { topic, partition, offset, headers })
      } catch (cause) {
        return decodeFailure(lane, seq, message, headers, key, 'value', cause)
      }
    }
    return { topic, partition, offset, seq, epoch, key, value, headers, timestamp }
  }
}

function decodeFailure(
  lane: OwnedPartition,
  seq: number,
  message: KafkaMessageLike,
  headers: KafkaRecord['headers'],
  key: unknown,
  part: 'key' | 'value',
  cause: unknown,
): DecodeFailure {
  const { topic, partition, epoch } = lane
  return {
    topic,
    partition,
    offset: message.offset,
    seq,
    epoch,
    key,
    value: null,
    headers,
    timestamp: message.timestamp,
    rawKey: message.key,
    rawValue: message.value,
    decodeError: { part, cause },
  }
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString()
}
