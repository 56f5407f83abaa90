/**
 * The Observable `fromKafka` returns: the `KafkaSource` interface (records, plus the commit target, stats
 * and shutdown of the pipeline) and its implementation, which opens one `Session` per subscription and keeps
 * one consumer from serving two at once. Apart from `from-kafka.ts` (the contract) and
 * `options.ts` (the options and their check).
 */
import { defer, Observable, type Subscriber } from 'rxjs'
import type { DecodeFailure } from '../record/decoders'
import type { KafkaConsumerLike } from '../client/consumer'
import { Session, type Settings } from './session'
import { ConsumerInUseError } from './consumer-in-use-error'
import { OffsetTracker } from '../tracker/offset-tracker'
import { PartitionEpochs } from '../tracker/partition-epochs'
import type { KafkaRecord, RecordOrigin, TrackedCommitOffset } from '../record/record'
import type { CommitTarget } from '../../operators/commit-offsets'
import type { PartitionEvent } from '../../operators/interjections'
import type { DelegatedCommits } from './delegated-commits'
import { OffsetMapTransactionalError } from './offset-map-transactional-error'
import { TransactionsUnsupportedError } from './transactions-unsupported-error'

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
  /**
   * True when the record's partition was revoked or re-assigned since it was delivered (or no subscription),
   * or (with the `offsetMap` option) when the record already finished under an earlier owner.
   */
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
  /**
   * Hands the commits the source makes on its own (each assignment's start position, the offset past a
   * control batch) to `to`, and stops every other commit through the consumer (revoke, shutdown, `commit`),
   * for subscriptions opened from now on. `publishTransactional` calls it when subscribed, so that every
   * commit of the group is made by a fenced transactional producer. Returns the undo (for later
   * subscriptions; a running one keeps its delegate to its end).
   *
   * @throws {OffsetMapTransactionalError} When the source was made with the `offsetMap` option.
   */
  delegateCommits(to: DelegatedCommits): () => void
}

// Consumers with a live subscription, or the promise of the shutdown of their last one.
const consumersInUse = new WeakMap<KafkaConsumerLike, { closing: Promise<void> | undefined }>()

/**
 * The {@link KafkaSource} `fromKafka` makes (its arguments already checked): each subscription opens a
 * `Session` with a fresh tracker; the partition epochs live as long as the source.
 *
 * ```text
 * subscribe ──▶ Session(consumer, tracker #1) ──unsubscribe──▶ close (final commit, stop, disconnect)
 * subscribe ──▶ Session(consumer', tracker #2) ...              (epochs keep growing across sessions)
 * ```
 *
 * @example
 * const source: KafkaSource<string, Order> = new KafkaSourceObservable(() => kafka.consumer({ groupId: 'g' }), checkOptions(options))
 */
export class KafkaSourceObservable<K, V> extends Observable<SourceRecord<K, V>> implements KafkaSource<K, V> {
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
  #delegate: DelegatedCommits | undefined

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

  delegateCommits(to: DelegatedCommits): () => void {
    // Under exactly-once nothing above the committed offset has its outputs committed: a map would skip them.
    if (this.#settings.offsetMap !== undefined) throw new OffsetMapTransactionalError()
    // A consumer from a factory is checked when it is made (#open).
    const refused = typeof this.#consumer === 'function' ? undefined : this.#consumer.transactionsUnsupported
    if (refused !== undefined) throw new TransactionsUnsupportedError(refused)
    this.#delegate = to
    return () => {
      if (this.#delegate === to) this.#delegate = undefined
    }
  }

  // A bound property, not a method: `skip: source.isStale` must work when passed on its own.
  readonly isStale = (record: RecordOrigin): boolean =>
    this.#session === undefined || this.#epochs.epochOf(record.topic, record.partition) !== record.epoch ||
    this.#session.isSkipped(record)

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
      mapFinished: this.#settings.offsetMap !== undefined,
      onRelease: (inFlight, released) => {
        if (this.#session?.tracker === tracker) this.#session.released(inFlight, released)
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
    if (this.#delegate !== undefined && consumer.transactionsUnsupported !== undefined) {
      subscriber.error(new TransactionsUnsupportedError(consumer.transactionsUnsupported))
      return () => undefined
    }
    const use = consumersInUse.get(consumer)
    if (use !== undefined && use.closing === undefined) {
      subscriber.error(new ConsumerInUseError())
      return () => undefined
    }
    const lock = { closing: undefined as Promise<void> | undefined }
    consumersInUse.set(consumer, lock)
    const session = new Session<K, V>(consumer, this.#settings, this.#epochs, this.#tracker, subscriber, this.#delegate)
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
