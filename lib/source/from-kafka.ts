/**
 * `fromKafka`: a kafkajs consumer as a cold Observable of records. The Observable itself (and the
 * `KafkaSource` interface) is in `source-observable.ts`, the options in `options.ts`, one
 * subscription's consumer session in `session.ts`.
 */
import type { KafkaConsumerLike } from '../client/consumer'
import { checkOptions, type FromKafkaOptions } from './options'
import { KafkaSourceObservable, type KafkaSource } from './source-observable'

export type { FromKafkaOptions } from './options'
export type { KafkaSource, SourceRecord } from './source-observable'

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
 * - **Back-pressure.** At most `maxInFlight` records delivered and unfinished, shared fairly across the owned
 *   partitions (`FairBudget`: each has a reserve the others cannot take, so a slow partition never stalls
 *   the others; a batch over its share goes back to kafkajs while another partition is ready). When the
 *   budget is used up inside `eachBatch`, the batch waits (holding its fetcher), calling `heartbeat()` every
 *   `budgetHeartbeatInterval` so the member stays in the group, until finished records bring the count down to
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
