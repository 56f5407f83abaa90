import { InMemoryConsumer } from './in-memory-consumer'
import { InMemoryGroup } from './in-memory-group'
import { logEnd, type LogEntry } from './log-entry'
import type { RunEvent } from './run-events'

/**
 * A Kafka cluster in memory, for property tests of a pipeline: topics whose partitions are fixed logs
 * (offset gaps and transaction markers included), consumer groups that keep their committed offsets across
 * members and restarts, and consumers shaped like kafkajs's, so the real `fromKafka` runs on them.
 *
 * It is driven, not timed: a consumer fetches when told (`consumer.fetch()`), a group rebalances when told
 * (`group(id).rebalance()`), which is what makes a run deterministic and its failures shrink.
 * `runPipeline` does the driving from a generated {@link World}; use this class directly for a scenario
 * of your own.
 *
 * @example
 * const kafka = new InMemoryKafka({ orders: [[{ offset: 0, key: 'k', value: '{}' }, { offset: 2, key: 'k', value: '{}' }]] })
 * const consumer = kafka.consumer({ groupId: 'billing' })
 * const source = fromKafka(() => consumer, { topics: ['orders'], fromBeginning: true })
 * source.pipe(commitOffsets(source, { interval: 0 })).subscribe()
 * // later: void consumer.fetch(); ... kafka.group('billing').committedOf('orders', 0) === 3
 */
export class InMemoryKafka {
  /** What the broker saw, in order: assignments and commits (a `runPipeline` log adds the pipeline's events). */
  readonly events: RunEvent[] = []
  readonly #logs: Map<string, readonly (readonly LogEntry[])[]>
  readonly #groups = new Map<string, InMemoryGroup>()
  #processes = 0

  /** @param topics Each topic's partitions, each an offset-ordered log. */
  constructor(topics: Readonly<Record<string, readonly (readonly LogEntry[])[]>>) {
    this.#logs = new Map()
    for (const [topic, partitions] of Object.entries(topics)) {
      partitions.forEach((entries, p) => {
        for (let i = 1; i < entries.length; i++) {
          if (!(entries[i]!.offset > entries[i - 1]!.offset)) {
            throw new RangeError(`InMemoryKafka: ${topic}/${p}: offsets must grow, got ${entries[i - 1]!.offset} then ${entries[i]!.offset}`)
          }
        }
      })
      this.#logs.set(topic, partitions)
    }
  }

  /** A new consumer (a new process of member `member`, default `m<n>`); it joins the group when run. */
  consumer({ groupId, member }: { groupId: string; member?: string }): InMemoryConsumer {
    const process = this.#processes++
    return new InMemoryConsumer({ member: member ?? `m${process}`, process }, this.group(groupId), this.#logs)
  }

  /** The group `groupId` (created empty on first use). */
  group(groupId: string): InMemoryGroup {
    let group = this.#groups.get(groupId)
    if (group === undefined) this.#groups.set(groupId, (group = new InMemoryGroup(groupId, this.#logs, this.events)))
    return group
  }

  /** A partition's log. */
  log(topic: string, partition: number): readonly LogEntry[] {
    return this.#logs.get(topic)?.[partition] ?? []
  }

  /** The topics with their partition counts. */
  topics(): { topic: string; partitions: number }[] {
    return [...this.#logs].map(([topic, ps]) => ({ topic, partitions: ps.length }))
  }

  /** The next offset to be written to a partition. */
  endOffset(topic: string, partition: number): number {
    return logEnd(this.log(topic, partition))
  }
}
