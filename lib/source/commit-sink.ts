import type { KafkaConsumerLike, TopicPartitionOffsetLike } from '../client/consumer'
import type { PartitionEpochs } from '../tracker/partition-epochs'
import type { TrackedCommitOffset } from '../record/record'
import { encodeOffsetMap } from '../tracker/offset-map'

/** Where the sink takes each commit's offset map from (the tracker), and its byte budget. */
export interface OffsetMapSource {
  finishedAbove(topic: string, partition: number, epoch: number, from: number): number[]
  readonly maxBytes: number
}

/**
 * Kafka error types meaning "this member no longer owns what it tries to commit": the group moved on, the
 * records will be delivered again to the new owner, so the commit is dropped rather than failing the stream.
 */
// STALE_MEMBER_EPOCH and FENCED_MEMBER_EPOCH are KIP-848's (the consumer group protocol's) forms of the same.
const OWNERSHIP_LOST = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'STALE_MEMBER_EPOCH', 'FENCED_MEMBER_EPOCH'])

/**
 * True when `error` (or one of its causes: kafkajs wraps protocol errors) says the commit was refused because
 * the group rebalanced, or because the consumer is not running any more.
 *
 * @example
 * isOwnershipLost({ name: 'KafkaJSNonRetriableError', cause: { type: 'ILLEGAL_GENERATION' } }) // true
 */
export function isOwnershipLost(error: unknown): boolean {
  for (let e: any = error, depth = 0; e != null && depth < 8; e = e.cause ?? e.originalError, depth++) {
    if (typeof e.type === 'string' && OWNERSHIP_LOST.has(e.type)) return true
    // kafkajs: commitOffsets between a crash and its restart, when the runner is gone.
    if (typeof e.message === 'string' && e.message.includes('consumer#run must be called first')) return true
  }
  return false
}

/**
 * Sends commits to the consumer one at a time, keeping only what is safe to send *at send time*:
 *
 * - an offset whose `epoch` is not its partition's current epoch is dropped (the partition was revoked or
 *   re-assigned since it was computed: committing it could overwrite the new owner's progress, invariant 6);
 * - per partition and epoch, commits strictly increase (an offset at or below the last one sent is dropped,
 *   several offsets of one partition in a call collapse to the highest);
 * - a commit the broker refuses because the group moved on ({@link isOwnershipLost}) resolves with nothing
 *   committed; any other failure rejects.
 *
 * Each call resolves with the offsets actually acknowledged by the broker (possibly none). With an
 * {@link OffsetMapSource}, each offset sent carries in its `metadata` the offsets above it already finished
 * (offset-map.ts), and an offset equal to the last one sent goes out again: its map has news.
 *
 * ```text
 * commit([t0@5 e1])  ─▶ consumer.commitOffsets([t0@5])       resolves [t0@5 e1]
 * commit([t0@5 e1])  ─▶ (nothing sent: not beyond 5)          resolves []
 * revokeAll(); commit([t0@9 e1]) ─▶ (dropped: epoch 1 revoked) resolves []
 * ```
 *
 * @example
 * const sink = new KafkaCommitSink(consumer, epochs)
 * await sink.commit(tracker.committable())
 */
export class KafkaCommitSink {
  readonly #consumer: Pick<KafkaConsumerLike, 'commitOffsets'>
  readonly #epochs: PartitionEpochs
  // Highest offset sent per topic, partition: with its epoch, since a new epoch may legitimately start lower.
  readonly #last = new Map<string, Map<number, { epoch: number; offset: number }>>()
  #tail: Promise<unknown> = Promise.resolve()
  #queued = 0 // commits queued or in flight
  readonly #maps: OffsetMapSource | undefined

  constructor(consumer: Pick<KafkaConsumerLike, 'commitOffsets'>, epochs: PartitionEpochs, maps?: OffsetMapSource) {
    this.#consumer = consumer
    this.#epochs = epochs
    this.#maps = maps
  }

  /** Queues a commit of offsets of partitions owned now (checked again when it is sent). */
  commit(offsets: readonly TrackedCommitOffset[]): Promise<TrackedCommitOffset[]> {
    return this.#enqueue(offsets, (o) => this.#epochs.epochOf(o.topic, o.partition) === o.epoch)
  }

  /**
   * Queues a commit computed just before a revoke, while the partitions were still owned. It is sent only if
   * ownership did not change again in between (`generation` is the one right after the revoke): once the
   * client joined a new generation, the old generation's offsets must not go out under the new one.
   */
  commitRevoked(offsets: readonly TrackedCommitOffset[], generation: number): Promise<TrackedCommitOffset[]> {
    return this.#enqueue(offsets, () => this.#epochs.generation === generation)
  }

  /** The highest offset the broker acknowledged for the partition through this sink (any epoch), or undefined. */
  lastSent(topic: string, partition: number): number | undefined {
    return this.#last.get(topic)?.get(partition)?.offset
  }

  /** Resolves once every commit queued so far has settled. */
  idle(): Promise<void> {
    return this.#tail.then(() => undefined)
  }

  #enqueue(offsets: readonly TrackedCommitOffset[], valid: (o: TrackedCommitOffset) => boolean): Promise<TrackedCommitOffset[]> {
    const copy = offsets.slice()
    // When idle, sent synchronously: a commit made on REBALANCING reaches kafkajs while it still holds the
    // old generation (it reads generation and member id when the call is made).
    const sent = this.#queued === 0 ? this.#send(copy, valid) : this.#tail.then(() => this.#send(copy, valid))
    this.#queued++
    this.#tail = sent.then(
      () => void this.#queued--,
      () => void this.#queued--,
    )
    return sent
  }

  async #send(offsets: readonly TrackedCommitOffset[], valid: (o: TrackedCommitOffset) => boolean): Promise<TrackedCommitOffset[]> {
    const best = new Map<string, { o: TrackedCommitOffset; n: number }>()
    for (const o of offsets) {
      if (!valid(o)) continue
      const n = Number(o.offset)
      const last = this.#last.get(o.topic)?.get(o.partition)
      if (last !== undefined && last.epoch === o.epoch && (n < last.offset || (n === last.offset && this.#maps === undefined))) continue
      const id = `${o.topic}\u0000${o.partition}`
      const seen = best.get(id)
      if (seen === undefined || n > seen.n) best.set(id, { o, n })
    }
    if (best.size === 0) return []
    const chosen = [...best.values()]
    try {
      await this.#consumer.commitOffsets(chosen.map(({ o, n }) => this.#withMap(o, n)))
    } catch (error) {
      // Refused because the group moved on: the next owner re-reads from the last commit (at-least-once).
      if (isOwnershipLost(error) || !chosen.every(({ o }) => valid(o))) return []
      throw error
    }
    for (const { o, n } of chosen) {
      let byPartition = this.#last.get(o.topic)
      if (byPartition === undefined) this.#last.set(o.topic, (byPartition = new Map()))
      const last = byPartition.get(o.partition)
      if (last === undefined || last.epoch !== o.epoch || n > last.offset) byPartition.set(o.partition, { epoch: o.epoch, offset: n })
    }
    return chosen.map(({ o }) => o)
  }

  #withMap(o: TrackedCommitOffset, n: number): TopicPartitionOffsetLike {
    const { topic, partition, offset } = o
    const maps = this.#maps
    if (maps === undefined) return { topic, partition, offset }
    const { metadata } = encodeOffsetMap(n, maps.finishedAbove(topic, partition, o.epoch, n), maps.maxBytes)
    return { topic, partition, offset, metadata: metadata === '' ? null : metadata }
  }
}
