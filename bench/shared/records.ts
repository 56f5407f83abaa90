import { Observable, type Subscriber } from 'rxjs'
import type { RecordOrigin } from '../../lib/record/record'

/** A synthetic record for the benchmarks: an origin plus a key (keys are interned strings, as a decoded key would be). */
export interface BenchRecord extends RecordOrigin {
  readonly key: string
}

/** Shape of the synthetic input: spread over how many keys and partitions, from which seed. */
export interface RecordShape {
  readonly keys: number
  readonly partitions: number
  /** Seed of the key choice, so every run (and every case of a run) sees the same input. */
  readonly seed?: number
}

/**
 * A synchronous source of `count` fresh records, like `from(array)` but without holding an array: records
 * are made as they are emitted, as a Kafka source makes them, so the live heap holds only what the pipeline
 * under test keeps (a 3,000,000-record input array would be marked by every major GC and counted in every
 * memory figure). Making them costs about what the `source_only` case reports, in every case alike.
 *
 * Keys are drawn uniformly at random (seeded) from `keys` keys; a key lives on partition `keyIndex %
 * partitions` (as Kafka's partitioner would place it); `seq` is dense per partition from 0; offsets leave a
 * gap every 7th record, as compaction would. Every subscription replays the same keys, partitions and seqs;
 * its offsets start past every offset an earlier subscription in this process made (see `nextOffset`).
 * `onEvery` is called before the first record and then every 16384 records (the harness samples memory
 * there: a synchronous run blocks the event loop, so no timer could).
 *
 * @example
 * recordSource({ keys: 10_000, partitions: 12 }, 1_000_000).pipe(groupByKeyConcat(r => r.key, r => of(r)))
 */
export function recordSource(shape: RecordShape, count: number, onEvery: () => void = () => undefined): Observable<BenchRecord> {
  const keyNames = keyNamesOf(shape.keys)
  return new Observable<BenchRecord>((subscriber) => emitRecords(subscriber, shape, keyNames, count, onEvery))
}

// Key strings are made once per process and shared by every run (the warm-ups and the measured run), as
// interned keys would be: the measured run does not pay for making them or for hashing each the first time.
const keyNameCache = new Map<number, readonly string[]>()
function keyNamesOf(keys: number): readonly string[] {
  let names = keyNameCache.get(keys)
  if (names === undefined) keyNameCache.set(keys, (names = Array.from({ length: keys }, (_, i) => `key-${i}`)))
  return names
}

// Where the next subscription's offsets start. Offsets never repeat in a process, as a consumer's never do.
// V8 caches number-to-string conversions (16,384 entries), so replayed offsets could be strings an earlier
// run had made, cached and promoted: a 100,000-record run (offsets below ~9,500) right after the warm-ups or
// another small run made few offset strings and promoted nothing, while a large run made new ones past its
// first ~100,000 records and promoted their cached copies (~2 bytes a record: a mark-compact per 3,000,000
// records). The source alone measured ~15-25 ns a record cheaper at 100,000 than at 3,000,000 that way: a
// bias of the bench, not of the operators. Now every run makes fresh offsets. Wraps inside V8's small integers.
let nextOffset = 0

/** The loop behind `recordSource`: emits `count` records, then completes (unless unsubscribed). */
function emitRecords(subscriber: Subscriber<BenchRecord>, shape: RecordShape, keyNames: readonly string[], count: number, onEvery: () => void): void {
  const { keys, partitions } = shape
  const seqs = new Array<number>(partitions).fill(0)
  // Reserved before the first record, so overlapping subscriptions get disjoint offsets too.
  const span = count + Math.floor(count / 7) + 1
  if (nextOffset + span > 2 ** 29) nextOffset = 0
  const base = nextOffset
  nextOffset += span
  let state = (shape.seed ?? 0x2f6b3a1d) >>> 0
  for (let i = 0; i < count && !subscriber.closed; i++) {
    if ((i & 16383) === 0) onEvery()
    // mulberry32: a tiny seeded PRNG, enough for a uniform key choice.
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    const k = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * keys)
    const partition = k % partitions
    const seq = seqs[partition]++
    subscriber.next({ topic: 'bench', partition, offset: String(base + seq + Math.floor(seq / 7)), seq, epoch: 0, key: keyNames[k] })
  }
  subscriber.complete()
}
