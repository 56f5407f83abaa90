/**
 * `fromKafka`'s options: what each one means and its default, and the call-time check that turns them into
 * the `Settings` a session runs with. Apart from `from-kafka.ts` so that the source's file holds its
 * contract, and this one the knobs.
 */
import { bufferDecoder, type DecodeFailure, type Decoder } from '../record/decoders'
import type { Settings } from './session'
import { rejectRenamed } from '../../operators/renamed-options'
import { checkOffsetMap, type OffsetMapOptions } from './offset-map-options'

/** Options of {@link fromKafka}. */
export interface FromKafkaOptions<K, V> {
  /** Topic names or patterns (kafkajs resolves a RegExp against the topics existing at subscribe time). */
  topics: readonly (string | RegExp)[]
  /**
   * Where a group with no committed offset starts: the earliest offset, or (default false) the latest. Either
   * way the position an assignment starts from is committed before its first record is delivered, so a later
   * owner never skips a record this one was handed (docs/start-position.md).
   */
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
   * Not kafkajs's consumer option `heartbeatInterval` (3,000 ms there), which this option was called before 0.2.
   */
  budgetHeartbeatInterval?: number
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
  /** Commit an offset map and skip finished records on assignment (see {@link OffsetMapOptions}). Default: off. */
  offsetMap?: OffsetMapOptions
  /**
   * Drain before rejoin: when a heartbeat finds the group rebalancing, nothing more is delivered, the
   * records in flight may finish for up to this many ms, what finished is committed, and only then does the
   * member rejoin (the group waits for it up to the consumer's `rebalanceTimeout`, so this costs no
   * duplicate). Records still running at the deadline are revoked, as with 0. kafkajs's eager rebalances
   * only (other clients: no effect). Default 15,000: a quarter of kafkajs's default `rebalanceTimeout`
   * (60,000; the consumer does not expose its own), so the commit and the rejoin still fit in it. With a
   * lower `rebalanceTimeout`, set at most a quarter of it. 0 turns it off.
   */
  drainOnRebalance?: number
}

/**
 * `drainOnRebalance`'s default, in ms: a quarter of kafkajs's default `rebalanceTimeout` (60,000). The drain
 * stalls the whole group (the members that rejoined wait), and after it the commit, JoinGroup and SyncGroup
 * must still fit in the rebalance timeout on a loaded broker: a quarter leaves three for that.
 */
export const DEFAULT_DRAIN_ON_REBALANCE = 15_000

/**
 * Checks `fromKafka`'s options at call time and applies the defaults (a `bufferDecoder` becomes no decoder
 * at all: the bytes as fetched cost no call).
 *
 * ```text
 * { topics: ['t'] }               ->  { topics: ['t'], maxInFlight: 10_000, resumeBelow: 5_000, ... }
 * { topics: ['t'], maxInFlight: 0 } ->  TypeError
 * ```
 *
 * @example
 * const settings = checkOptions({ topics: ['orders'], maxInFlight: 100 })
 * settings.resumeBelow // 50
 *
 * @throws {TypeError|RangeError} For an invalid option.
 */
export function checkOptions<K, V>(options: FromKafkaOptions<K, V>): Settings<K, V> {
  if (options === null || typeof options !== 'object') throw new TypeError('fromKafka: options are required')
  const { topics, fromBeginning = false, maxInFlight = 10_000, keyDecoder, valueDecoder, partitionsConsumedConcurrently } = options
  rejectRenamed('fromKafka', options, { heartbeatInterval: 'budgetHeartbeatInterval' })
  const { budgetHeartbeatInterval: heartbeatInterval = 500, signal, drainTimeout = 30_000, drainOnRebalance = DEFAULT_DRAIN_ON_REBALANCE } = options
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
    throw new TypeError(`fromKafka: budgetHeartbeatInterval must be a number of ms > 0, got ${String(heartbeatInterval)}`)
  }
  if (signal !== undefined && (typeof signal?.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
    throw new TypeError('fromKafka: signal must be an AbortSignal')
  }
  if (typeof drainTimeout !== 'number' || !(drainTimeout >= 0 && drainTimeout < 2 ** 31)) {
    throw new RangeError(`fromKafka: drainTimeout must be a number of ms >= 0 (below 2^31), got ${String(drainTimeout)}`)
  }
  if (typeof drainOnRebalance !== 'number' || !Number.isInteger(drainOnRebalance) || drainOnRebalance < 0 || drainOnRebalance >= 2 ** 31) {
    throw new RangeError(`fromKafka: drainOnRebalance must be an integer number of ms >= 0 (0 turns it off), got ${String(drainOnRebalance)}`)
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
    offsetMap: checkOffsetMap(options.offsetMap),
    drainOnRebalance,
  }
}
