import type { Arbitrary } from 'fast-check'
import type { LogEntry } from '../in-memory/log-entry'
import { fastCheck } from './fast-check'

/** What {@link recordStreams} may generate; every kind of trouble is on by default. */
export interface RecordStreamOptions {
  /** Partitions of the topic. Default 2. */
  partitions?: number
  /** Most records per partition. Default 12. */
  maxRecords?: number
  /** Distinct keys per partition (`k<p>.<i>`: a key lives in one partition, as with Kafka's partitioner). Default 3. */
  keys?: number
  /** One hot key gets about half of a partition's records. Default true. */
  skew?: boolean
  /** Some keys are null. Default true. */
  nullKeys?: boolean
  /** Some values are not JSON (`{not json`), some null (tombstones); the rest are `{"n":<offset>}`. Default true. */
  badValues?: boolean
  /** Offsets skip now and then (compacted-away records). Default true. */
  gaps?: boolean
  /** Transaction markers after some records (a batch's last offset then lies past its last message). Default true. */
  markers?: boolean
  /** Most virtual-time frames a record's work takes. Default 4. */
  maxLatency?: number
  /** Some records' first one or two work attempts fail. Default true. */
  failures?: boolean
}

/**
 * Partition logs for one topic: records with keys (skewed, some null), values (some undecodable, some
 * null), latencies and failing first attempts, with offset gaps and transaction markers. Shrinks towards
 * fewer, simpler records.
 *
 * ```text
 * [[{ offset: 0, key: 'k0.0', value: '{"n":0}' }, { offset: 2, key: null, value: '{not json' }, { offset: 3, control: true }], []]
 * ```
 *
 * @example
 * fc.assert(fc.property(recordStreams({ partitions: 3 }), (logs) => logs.length === 3))
 */
export function recordStreams(options: RecordStreamOptions = {}): Arbitrary<LogEntry[][]> {
  const fc = fastCheck()
  const { partitions = 2, maxRecords = 12, keys = 3, skew = true, nullKeys = true, badValues = true } = options
  const { gaps = true, markers = true, maxLatency = 4, failures = true } = options
  const keyIndex = skew
    ? fc.oneof({ arbitrary: fc.constant(0), weight: keys }, { arbitrary: fc.nat(keys - 1), weight: keys })
    : fc.nat(keys - 1)
  const spec = fc.record({
    key: nullKeys ? fc.option(keyIndex, { freq: 8 }) : keyIndex,
    value: badValues ? fc.constantFrom('json' as const, 'json', 'json', 'json', 'json', 'bad' as const, 'null' as const) : fc.constant('json' as const),
    gap: gaps ? fc.oneof({ arbitrary: fc.constant(0), weight: 5 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 1 }) : fc.constant(0),
    marker: markers ? fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))) : fc.constant(false),
    latency: fc.integer({ min: 0, max: maxLatency }),
    failures: failures ? fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.integer({ min: 1, max: 2 }), weight: 1 }) : fc.constant(0),
  })
  const partition = (p: number): Arbitrary<LogEntry[]> =>
    fc.array(spec, { maxLength: maxRecords }).map((specs) => {
      const entries: LogEntry[] = []
      let offset = 0
      for (const s of specs) {
        offset += s.gap
        const value = s.value === 'json' ? `{"n":${offset}}` : s.value === 'bad' ? '{not json' : null
        entries.push({ offset, key: s.key === null ? null : `k${p}.${s.key}`, value, latency: s.latency, failures: s.failures })
        offset++
        if (s.marker) entries.push({ offset: offset++, key: null, value: null, control: true })
      }
      return entries
    })
  return fc.tuple(...Array.from({ length: partitions }, (_, p) => partition(p)))
}
