import { Observable, type Subscriber } from 'rxjs'
import type { RecordOrigin } from '../lib/record'

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
 * under test keeps (a 3,000,000-record array would make every major GC mark it, which charges the harness's
 * memory to the operators and most to whichever case promotes the most).
 *
 * Keys are drawn uniformly at random (seeded) from `keys` keys; a key lives on partition `keyIndex %
 * partitions` (as Kafka's partitioner would place it); `seq` is dense per partition from 0; offsets leave a
 * gap every 7th record, as compaction would. Every subscription replays the same records. `onEvery` is
 * called before the first record and then every 16384 records (the harness samples memory there: a
 * synchronous run blocks the event loop, so no timer could).
 *
 * @example
 * recordSource({ keys: 10_000, partitions: 12 }, 1_000_000).pipe(groupByKeyConcat(r => r.key, r => of(r)))
 */
export function recordSource(shape: RecordShape, count: number, onEvery: () => void = () => undefined): Observable<BenchRecord> {
  const keyNames = keyNamesOf(shape.keys)
  return new Observable<BenchRecord>((subscriber) => emitRecords(subscriber, shape, keyNames, count, onEvery))
}

// Key strings are made once per process and shared by every run, as interned keys would be: fresh strings
// per run would charge each run the first hashing of every key (a few ms for 10,000 keys, most visible at
// 100,000 records) and make the per-record cost look size-dependent when it is not.
const keyNameCache = new Map<number, readonly string[]>()
function keyNamesOf(keys: number): readonly string[] {
  let names = keyNameCache.get(keys)
  if (names === undefined) keyNameCache.set(keys, (names = Array.from({ length: keys }, (_, i) => `key-${i}`)))
  return names
}

// A module-level function rather than a closure per source: V8 specializes on-stack-replaced code for the
// closure's context, so a loop inside a fresh closure would be compiled again on every run, charging each
// run a start-up the size of one compile (tens of ms, most visible at 100,000 records).
function emitRecords(subscriber: Subscriber<BenchRecord>, shape: RecordShape, keyNames: readonly string[], count: number, onEvery: () => void): void {
  const { keys, partitions } = shape
  const seqs = new Array<number>(partitions).fill(0)
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
    subscriber.next({ topic: 'bench', partition, offset: String(seq + Math.floor(seq / 7)), seq, epoch: 0, key: keyNames[k] })
  }
  subscriber.complete()
}
