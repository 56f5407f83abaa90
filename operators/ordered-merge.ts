import { Observable, type MonoTypeOperatorFunction } from 'rxjs'
import type { RecordOrigin } from './record-origin'
import type { Processed } from './processed'
import { originOf } from './origin-of'
import { HOLE, LaneBuffer } from './lane-buffer'
import { SequenceError } from './sequence-error'

/** Options of {@link orderedMerge}. */
export interface OrderedMergeOptions<T> {
  /**
   * Which lane an item belongs to (compared as Map keys); lanes are ordered independently. A few numbers of
   * state stay per lane for the life of the subscription, so lanes should be a bounded set, like partitions.
   * Default: topic + partition of originOf(item).
   */
  laneOf?: (item: T) => unknown
  /** Dense position of the item within its lane and epoch (0, 1, 2, ...). Default: originOf(item).seq. */
  seqOf?: (item: T) => number
  /**
   * Generation of the lane. Default: originOf(item).epoch when `seqOf` is the default (a record's seq counts
   * within its epoch), otherwise 0: a custom stream has one generation unless it says so.
   */
  epochOf?: (item: T) => number
}

/** Items that carry a {@link RecordOrigin}: records, and the `Processed` envelopes of per-record operators. */
type OriginCarrier = Processed<RecordOrigin, unknown> | RecordOrigin

/**
 * Orders any stream: `laneOf` and `seqOf` are required for items that carry no {@link RecordOrigin}, and
 * `epochOf` defaults to 0 (a single generation).
 *
 * @example
 * jobs$.pipe(orderedMerge({ laneOf: job => job.queue, seqOf: job => job.index }))
 */
export function orderedMerge<T>(
  options: OrderedMergeOptions<T> & { laneOf: (item: T) => unknown; seqOf: (item: T) => number },
): MonoTypeOperatorFunction<T>
/**
 * Puts items back in delivery order per lane (by default a Kafka topic-partition) after a stage that completes
 * them out of order, such as `groupByKeyConcat`. Each lane emits as soon as its next item in order is
 * present, so a slow lane never holds back another.
 *
 * Per lane it keeps the next seq to emit and a ring of items that came early. Epochs only grow within a lane:
 * an item of a newer epoch first flushes what the older epoch held (in seq order), then restarts the lane at
 * seq 0; an item of an older epoch is stale and passes straight through (the commit ignores it). State is one
 * small object per lane, and a lane's ring is freed whenever it empties.
 *
 * Errors (`subscriber.error`): a seq seen twice or after it was emitted (records were duplicated upstream), a
 * seq that is not a non-negative integer, a callback that throws, and a source that completes while a lane
 * still holds items waiting for a missing seq (the message names the lane and the seq).
 *
 * ```text
 * source:  --a1--b0--a0--a3--b1--a2--|     letter: lane (topic-partition), digit: seq
 * result:  ------b0--a0a1----b1--a2a3|     b never waits for a
 * ```
 *
 * @example
 * fromKafka(consumer, { topics: ['orders'] }).pipe(
 *   groupByKeyConcat(r => r.key, r => charge(r), { concurrency: 256 }),   // Processed, in completion order
 *   orderedMerge(),                                                        // Processed, in offset order per partition
 * )
 * // Any stream, given its lanes and dense positions:
 * jobs$.pipe(orderedMerge({ laneOf: job => job.queue, seqOf: job => job.index }))
 */
export function orderedMerge<T extends OriginCarrier>(options?: OrderedMergeOptions<T>): MonoTypeOperatorFunction<T>
export function orderedMerge<T>(options: OrderedMergeOptions<T> = {}): MonoTypeOperatorFunction<T> {
  const { laneOf, seqOf, epochOf } = options
  const seqOfItem = seqOf ?? ((item: T) => originOf(item as OriginCarrier).seq)
  const epochOfItem = epochOf ?? (seqOf === undefined ? (item: T) => originOf(item as OriginCarrier).epoch : () => 0)
  const allDefaults = laneOf === undefined && seqOf === undefined && epochOf === undefined

  return source =>
    new Observable<T>(subscriber => {
      const lanes: LaneBuffer<T>[] = []
      const partitionLane = topicPartitionLanes<T>(lanes)
      const laneFor = laneOf === undefined ? (item: T) => laneOfOrigin(partitionLane, item) : customLanes(laneOf, lanes)

      const accept = (item: T): void => {
        let lane: LaneBuffer<T>, seq: number, epoch: number
        if (allDefaults) {
          // A Kafka pipeline's case: the item's origin read once for its lane, seq and epoch.
          const origin = originOf(item as OriginCarrier)
          lane = partitionLane(origin.topic, origin.partition)
          seq = origin.seq
          epoch = origin.epoch
        } else {
          lane = laneFor(item)
          seq = seqOfItem(item)
          epoch = epochOfItem(item)
        }
        if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`orderedMerge: seq ${String(seq)} of lane ${nameOf(lane)} is not a non-negative integer`)
        if (!Number.isFinite(epoch)) throw new RangeError(`orderedMerge: epoch ${String(epoch)} of lane ${nameOf(lane)} is not a finite number`)
        // A loop, as emitting the flushed items may re-enter and move the lane on (a feedback path downstream).
        while (epoch !== lane.epoch) {
          if (epoch < lane.epoch) return subscriber.next(item)
          for (const stale of lane.restart(epoch)) subscriber.next(stale)
        }
        if (seq === lane.next) {
          // Advance before emitting so that a re-entrant item sees the lane as it now is.
          lane.next = seq + 1
          subscriber.next(item)
          while (lane.size > 0 && !subscriber.closed) {
            const early = lane.takeNext()
            if (early === HOLE) break
            subscriber.next(early)
          }
        } else if (seq < lane.next) {
          throw new SequenceError(`orderedMerge: seq ${seq} of lane ${nameOf(lane)} (epoch ${epoch}) arrived after it was emitted: items were duplicated upstream`, nameOf(lane), seq)
        } else if (!lane.hold(seq, item)) {
          throw new SequenceError(`orderedMerge: seq ${seq} of lane ${nameOf(lane)} (epoch ${epoch}) arrived twice: items were duplicated upstream`, nameOf(lane), seq)
        }
      }

      return source.subscribe({
        next: item => {
          // A synchronous source may go on emitting after we errored, before it can be unsubscribed.
          if (subscriber.closed) return
          try {
            accept(item)
          } catch (err) {
            subscriber.error(err)
          }
        },
        error: err => subscriber.error(err),
        complete: () => {
          const stuck = lanes.filter(lane => lane.size > 0)
          if (stuck.length === 0) return subscriber.complete()
          const waits = stuck.map(l => `lane ${nameOf(l)} (epoch ${l.epoch}) holds ${l.size} item(s) waiting for missing seq ${l.next}`)
          subscriber.error(new SequenceError(`orderedMerge: source completed while ${waits.join('; ')}`, nameOf(stuck[0]!), stuck[0]!.next))
        },
      })
    })
}

/**
 * Lanes by topic and partition, looked up in two maps so that no key is built per item; the last one found
 * is kept at hand, as a fetched batch is one partition's run.
 */
function topicPartitionLanes<T>(all: LaneBuffer<T>[]): (topic: string, partition: number) => LaneBuffer<T> {
  const topics = new Map<string, Map<number, LaneBuffer<T>>>()
  let lastTopic: string | undefined
  let lastPartition = -1
  let lastLane: LaneBuffer<T> | undefined
  return (topic, partition) => {
    if (partition === lastPartition && topic === lastTopic) return lastLane!
    let partitions = topics.get(topic)
    if (partitions === undefined) topics.set(topic, (partitions = new Map()))
    let lane = partitions.get(partition)
    if (lane === undefined) {
      partitions.set(partition, (lane = new LaneBuffer<T>(`${topic}-${partition}`)))
      all.push(lane)
    }
    lastTopic = topic
    lastPartition = partition
    return (lastLane = lane)
  }
}

function laneOfOrigin<T>(partitionLane: (topic: string, partition: number) => LaneBuffer<T>, item: T): LaneBuffer<T> {
  const { topic, partition } = originOf(item as OriginCarrier)
  return partitionLane(topic, partition)
}

function customLanes<T>(laneOf: (item: T) => unknown, all: LaneBuffer<T>[]): (item: T) => LaneBuffer<T> {
  const lanes = new Map<unknown, LaneBuffer<T>>()
  return item => {
    const id = laneOf(item)
    let lane = lanes.get(id)
    if (lane === undefined) {
      lanes.set(id, (lane = new LaneBuffer<T>(id)))
      all.push(lane)
    }
    return lane
  }
}

function nameOf(lane: LaneBuffer<unknown>): string {
  try {
    return typeof lane.id === 'string' ? lane.id : String(lane.id)
  } catch {
    return '(unnamed)'
  }
}
