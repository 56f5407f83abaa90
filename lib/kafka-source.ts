import { defer, Observable, type Subscriber } from 'rxjs'
import { bufferDecoder, type DecodeFailure, type Decoder } from './decoders'
import type { KafkaConsumerLike } from './kafka-client'
import { Session, type Settings } from './kafka-session'
import { OffsetTracker } from './offset-tracker'
import { PartitionEpochs } from './partition-epochs'
import type { KafkaRecord, RecordOrigin, TrackedCommitOffset } from './record'
import type { CommitTarget } from '../operators/commit-offsets'
import type { PartitionEvent } from '../operators/interjections'

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
  /**
   * Graceful shutdown: when it aborts, nothing more is fetched or delivered, records already delivered may
   * finish for up to `drainTimeout` ms, then the stream completes (all finished) or errors with a
   * `DrainTimeoutError` (some did not; `commitOffsets` commits up to them). Already aborted at subscribe:
   * completes at once, without connecting. Records only count as finished through `tracker.finish` (done by
   * `commitOffsets`), so without it a drain always times out.
   */
  signal?: AbortSignal
  /** Ms that delivered records may take to finish after `signal` aborts. Default 30,000. */
  drainTimeout?: number
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
   * The broker's high watermark (the next offset to be written) of an owned partition, as reported with the
   * last batch fetched from it in its current epoch; undefined before that, or when not owned. For stats.
   */
  highWatermark(topic: string, partition: number): string | undefined
  /** True when fetching of this owned partition is paused for the in-flight budget. For stats. */
  isPaused(topic: string, partition: number): boolean
  /**
   * Settles when the current (else the last) subscription has shut down (final commit, stop, disconnect);
   * rejects with what went wrong there. Resolves at once when never subscribed.
   */
  closed(): Promise<void>
  /**
   * Partition ownership as it changes, for `interjections`: `assigned` (with the new epoch) at each
   * GROUP_JOIN, `revoked` at each rebalance and at shutdown. Hot, for the source's whole life (never
   * completes); a subscriber first learns the partitions owned at that moment.
   */
  readonly assignments: Observable<PartitionEvent>
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
 * - **No seeks.** The source owns the fetch position: `consumer.seek` throws while subscribed (reset the
 *   group's offsets with the admin client before subscribing instead).
 * - **Graceful shutdown.** Aborting `signal` stops delivery at once and pauses every partition; once every
 *   delivered record is finished the stream completes (then `commitOffsets`'s final commit is acknowledged
 *   before the consumer stops), or after `drainTimeout` ms errors with a `DrainTimeoutError`. A source
 *   whose signal is already aborted completes on subscribe without connecting (so `repeat()` over it would
 *   resubscribe forever: stop repeating once the signal aborted).
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

function checkOptions<K, V>(options: FromKafkaOptions<K, V>): Settings<K, V> {
  if (options === null || typeof options !== 'object') throw new TypeError('fromKafka: options are required')
  const { topics, fromBeginning = false, maxInFlight = 10_000, keyDecoder, valueDecoder, partitionsConsumedConcurrently } = options
  const { heartbeatInterval = 500, signal, drainTimeout = 30_000 } = options
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
  if (signal !== undefined && (typeof signal?.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
    throw new TypeError('fromKafka: signal must be an AbortSignal')
  }
  if (typeof drainTimeout !== 'number' || !(drainTimeout >= 0 && drainTimeout < 2 ** 31)) {
    throw new RangeError(`fromKafka: drainTimeout must be a number of ms >= 0 (below 2^31), got ${String(drainTimeout)}`)
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
    signal,
    drainTimeout,
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

  get assignments(): Observable<PartitionEvent> {
    return this.#epochs.events
  }

  commit(offsets: readonly TrackedCommitOffset[]): Observable<readonly TrackedCommitOffset[]> {
    return defer(async () => (this.#committer === undefined ? [] : this.#committer.commit(offsets)))
  }

  // A bound property, not a method: `skip: source.isStale` must work when passed on its own.
  readonly isStale = (record: RecordOrigin): boolean =>
    this.#session === undefined || this.#epochs.epochOf(record.topic, record.partition) !== record.epoch

  closed(): Promise<void> {
    return this.#session?.done ?? this.#closed
  }

  highWatermark(topic: string, partition: number): string | undefined {
    return this.#session === undefined ? undefined : this.#epochs.highWatermarkOf(topic, partition)
  }

  isPaused(topic: string, partition: number): boolean {
    return this.#session?.paused === true && this.#epochs.epochOf(topic, partition) !== undefined
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
    // Shut down before it started: nothing was delivered, so nothing to drain, and no consumer to touch.
    if (this.#settings.signal?.aborted === true) {
      subscriber.complete()
      return () => undefined
    }
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
