import type { KafkaMessageLike } from '../consumer'
import type { PlatformaticMessage } from './platformatic-types'

/** The fetched messages of one owned partition that kafka-rx has not resolved yet, in offset order. */
export interface PartitionQueue {
  readonly topic: string
  readonly partition: number
  /** This ownership of the partition (the adapter's own counter): a message stamped with another is stale. */
  readonly epoch: number
  /** The stream re-read its fetch positions since this ownership began: messages pushed from now on are its own. */
  ready: boolean
  /**
   * The offset of the last message queued in this ownership; undefined before the first one. (The last, not
   * the next: `offset + 1n` would allocate a BigInt per message.)
   */
  last: bigint | undefined
  /** Queued messages; those before `head` are resolved. */
  readonly messages: KafkaMessageLike[]
  head: number
  /** The leader epoch of the last message queued, for `commit` (KIP-320); -1 before any. */
  leaderEpoch: number
  /** An `eachBatch` of this partition is running. */
  running: boolean
  revoked: boolean
}

/**
 * Per owned partition, the messages `@platformatic/kafka`'s stream fetched and kafka-rx has not resolved: the
 * adapter's stand-in for kafkajs's fetch position. kafkajs fetches again what a batch did not resolve; the
 * stream does not (its position moves on as it fetches), so what `eachBatch` leaves is kept here and handed
 * over again.
 *
 * Three rules keep each partition's queue in offset order with every record once per ownership:
 * - a message is queued only for the ownership it was fetched in: the stream stamps it when it pushes it
 *   (`stamp`), and a stamp taken before the stream re-read its positions for a new ownership (`refreshed`),
 *   or in an older one, is stale (the partition's previous ownership left messages in the stream's buffer);
 * - a message at or below `last` (the last offset queued) is a duplicate: on every assignment change the
 *   stream re-reads the committed offsets of every partition, also of those it kept, and fetches again;
 * - a revoked partition's queue is dropped at once.
 *
 * ```text
 * assign t[0]; stream pushes t[0]@5 (stamp -1, before refresh)   dropped
 * refreshed(); pushes 3 4 5                                       queued 3 4 5, last 5
 * assign t[1] (t[0] kept); refreshed(); pushes t[0]@3 4 5 6       3 4 5 dropped (duplicates), 6 queued
 * ```
 *
 * @example
 * const queues = new PartitionQueues()
 * queues.assign('t', 0); queues.refreshed()
 * const stamp = queues.stamp(message)   // when the stream pushes it
 * queues.accept(message, stamp)          // when the adapter reads it: true if queued
 */
export class PartitionQueues {
  readonly #owned = new Map<string, (PartitionQueue | undefined)[]>()
  #epochs = 0
  #size = 0

  /** Messages queued and not resolved, every partition. */
  get size(): number {
    return this.#size
  }

  /** A new ownership of the partition (a partition owned already keeps its queue). */
  assign(topic: string, partition: number): PartitionQueue {
    let queues = this.#owned.get(topic)
    if (queues === undefined) this.#owned.set(topic, (queues = []))
    const owned = queues[partition]
    if (owned !== undefined) return owned
    const queue: PartitionQueue = { topic, partition, epoch: ++this.#epochs, ready: false, last: undefined, messages: [], head: 0, leaderEpoch: -1, running: false, revoked: false }
    queues[partition] = queue
    return queue
  }

  /** The partition is not owned any more: its queued messages are dropped. */
  revoke(topic: string, partition: number): void {
    const queues = this.#owned.get(topic)
    const queue = queues?.[partition]
    if (queue === undefined) return
    queue.revoked = true
    this.#size -= queue.messages.length - queue.head
    queues![partition] = undefined
  }

  /** The stream re-read its fetch positions: what it pushes from now on belongs to the current ownerships. */
  refreshed(): void {
    for (const queue of this.owned()) queue.ready = true
  }

  /** The owned partition's queue, else undefined. */
  get(topic: string, partition: number): PartitionQueue | undefined {
    return this.#owned.get(topic)?.[partition]
  }

  /** Every owned partition's queue. */
  owned(): PartitionQueue[] {
    const out: PartitionQueue[] = []
    for (const queues of this.#owned.values()) for (const q of queues) if (q !== undefined) out.push(q)
    return out
  }

  /** The ownership a message belongs to, taken when the stream pushes it: -1 when it belongs to none. */
  stamp(message: Pick<PlatformaticMessage, 'topic' | 'partition'>): number {
    const queue = this.get(message.topic, message.partition)
    return queue !== undefined && queue.ready ? queue.epoch : -1
  }

  /** Queues `message` if it belongs to its partition's current ownership and is not a duplicate. */
  accept(message: PlatformaticMessage, stamp: number): boolean {
    const queue = this.get(message.topic, message.partition)
    if (queue === undefined || queue.epoch !== stamp) return false
    if (queue.last !== undefined && message.offset <= queue.last) return false
    queue.messages.push(toKafkaMessage(message))
    queue.last = message.offset
    queue.leaderEpoch = message.leaderEpoch
    this.#size++
    return true
  }

  /** The queued messages of `queue` not resolved yet (a copy: the batch kafka-rx gets). */
  pending(queue: PartitionQueue): KafkaMessageLike[] {
    return queue.messages.slice(queue.head)
  }

  /** kafka-rx resolved up to `offset` (included): those messages leave the queue. */
  resolve(queue: PartitionQueue, offset: string): void {
    if (queue.revoked) return
    const { messages } = queue
    let head = queue.head
    while (head < messages.length && atOrBelow(messages[head]!.offset, offset)) head++
    this.#size -= head - queue.head
    queue.head = head
    // Compacted now and then, not at every resolve: a long queue is resolved a batch at a time.
    if (head > 1024 && head * 2 > messages.length) {
      messages.splice(0, head)
      queue.head = 0
    }
  }
}

/**
 * `a <= b` for offsets in decimal without leading zeros (as toKafkaMessage writes them): the shorter is the
 * smaller, and of equal lengths the text order is the numeric one. No BigInt parsed per resolved message.
 */
function atOrBelow(a: string, b: string): boolean {
  return a.length < b.length || (a.length === b.length && a <= b)
}

/** A platformatic message as kafkajs hands one over: offsets and timestamps in decimal strings, null for none. */
export function toKafkaMessage(message: PlatformaticMessage): KafkaMessageLike {
  let headers: Record<string, Buffer | string | undefined> | undefined
  if (message.headers.size > 0) {
    headers = {}
    for (const [k, v] of message.headers) headers[typeof k === 'string' ? k : k.toString()] = v
  }
  // One literal with every field, headers too (undefined when none): each message gets the same hidden
  // class, where a conditional spread built two objects per message and two shapes.
  return {
    offset: message.offset.toString(),
    key: message.key ?? null,
    value: message.value ?? null,
    timestamp: message.timestamp.toString(),
    headers,
  }
}
