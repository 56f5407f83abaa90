import type { KafkaRecord } from '../record/record'

/** What a test says about one record; everything else gets a sensible default. */
export interface RecordSpec {
  readonly topic?: string
  readonly partition?: number
  /** Kafka offset. Default: one past the previous record of the same partition (0 for the first). */
  readonly offset?: number | string
  readonly key?: string | null
  readonly value?: string | null
  readonly epoch?: number
  readonly headers?: KafkaRecord['headers']
  readonly timestamp?: string
}

/** A hand-built record: keys and values are strings (or null) so tests read naturally. */
export type TestRecord = KafkaRecord<string | null, string | null>

/**
 * Builds records the way the Kafka source would deliver them: `seq` is dense per (topic, partition, epoch)
 * in the order records are built, offsets grow by one unless given (give them to model compaction gaps).
 *
 * @example
 * const make = recordBuilder()
 * const a = make({ key: 'k1' })                 // t/0 offset 0 seq 0
 * const b = make({ key: 'k2', offset: 7 })      // t/0 offset 7 seq 1 (a gap: seq stays dense)
 * const c = make({ key: 'k1', partition: 1 })   // t/1 offset 0 seq 0
 */
export function recordBuilder(defaults: { topic?: string } = {}): (spec?: RecordSpec) => TestRecord {
  const lanes = new Map<string, { epoch: number; seq: number; nextOffset: number }>()
  return (spec = {}) => {
    const topic = spec.topic ?? defaults.topic ?? 'test'
    const partition = spec.partition ?? 0
    const epoch = spec.epoch ?? 0
    const laneKey = `${topic}\u0000${partition}`
    let lane = lanes.get(laneKey)
    if (lane === undefined || lane.epoch !== epoch) {
      // A new epoch restarts seq, as a re-assigned partition does; offsets carry on.
      lane = { epoch, seq: 0, nextOffset: lane?.nextOffset ?? 0 }
      lanes.set(laneKey, lane)
    }
    const offset = spec.offset === undefined ? lane.nextOffset : Number(spec.offset)
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad offset ${String(spec.offset)}`)
    lane.nextOffset = offset + 1
    return {
      topic,
      partition,
      offset: String(offset),
      seq: lane.seq++,
      epoch,
      key: spec.key === undefined ? null : spec.key,
      value: spec.value === undefined ? null : spec.value,
      headers: spec.headers ?? {},
      timestamp: spec.timestamp ?? '0',
    }
  }
}

/**
 * Records for a marble test, one per marble letter, built in the order the letters are given.
 *
 * @example
 * const values = records({ a: { key: 'k1' }, b: { key: 'k1' }, c: { key: 'k2', partition: 1 } })
 * const source = cold('a-b-c|', values)
 */
export function records<L extends string>(specs: Readonly<Record<L, RecordSpec>>, defaults: { topic?: string } = {}): Record<L, TestRecord> {
  const make = recordBuilder(defaults)
  const out = {} as Record<L, TestRecord>
  for (const letter of Object.keys(specs) as L[]) out[letter] = make(specs[letter])
  return out
}
