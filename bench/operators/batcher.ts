import { bufferTime, from, mergeMap, type ObservableInput, type OperatorFunction, type Observable } from 'rxjs'
import { batchByKey } from '../../operators/batch-by-key'
import type { Processed } from '../../operators/processed'
import { collectGarbage, median, timeRun } from '../shared/measure'
import { recordSource, type BenchRecord } from '../shared/records'

/** Options of {@link runBatcherBench}; every one has a default matching issue 5's setting. */
export interface BatcherBenchOptions {
  /** Records per run (one item each). Default: 200,000. */
  records?: number
  /** Distinct keys. Default: 5,000. */
  keys?: number
  /** Partitions the keys are spread over. Default: 12. */
  partitions?: number
  /** Timed runs per case, alternating between the cases (the median is reported). Default: 7. */
  runs?: number
  /** Untimed runs per case first, so both are measured with warm code. Default: 2. */
  warmup?: number
  maxBatchSize?: number
  maxConcurrentBatches?: number
  accumulationDelay?: number
}

/** What {@link runBatcherBench} measured. */
export interface BatcherBenchResult {
  records: number
  keys: number
  /** Median wall time of one run, ms. */
  batcherMs: number
  naiveMs: number
  /** batcherMs / naiveMs: issue 5 asks for at most {@link BATCHER_TARGET}. */
  ratio: number
  target: number
  /** Batch starts that found one of their keys in another running batch (one untimed run each). */
  batcherOverlaps: number
  naiveOverlaps: number
}

/** The ratio batchByKey may cost over the naive batcher (issue 5). */
export const BATCHER_TARGET = 1.5

/** Batch size, concurrency and delay of both batchers, here and in the operators suite's batcher cases. */
export const BATCHER_SETTINGS = { maxBatchSize: 100, maxConcurrentBatches: 4, accumulationDelay: 5 }

/**
 * The baseline: what one would write from stock RxJS, `bufferTime(delay, null, size)` + `mergeMap(run, n)`.
 * Same batch size, delay and concurrency, one `Processed` per record, but a key may be in several running
 * batches at once (the property batchByKey pays for).
 */
export function naiveBatcher<T, R>(
  run: (batch: readonly T[]) => ObservableInput<readonly R[]>,
  options: { maxBatchSize: number; maxConcurrentBatches: number; accumulationDelay: number },
): OperatorFunction<T, Processed<T, R>> {
  return (source) =>
    source.pipe(
      bufferTime(options.accumulationDelay, null, options.maxBatchSize),
      mergeMap(
        (batch) => from(run(batch)).pipe(mergeMap((results) => batch.map((item, i): Processed<T, R> => ({ item, results: [results[i]!] })))),
        options.maxConcurrentBatches,
      ),
    )
}

/** A batch function over an in-memory sink: resolves at once, one result per item (issue 5's setting). */
export function resolvedRun(batch: readonly BenchRecord[]): Promise<readonly number[]> {
  return Promise.resolve(batch.map((r) => r.seq))
}

/** The same batch function, counting batches that start while one of their keys is in a running batch. */
function overlapCounter(): { run: (batch: readonly BenchRecord[]) => Promise<readonly number[]>; overlaps: () => number } {
  const running = new Map<string, number>()
  let overlaps = 0
  const run = async (batch: readonly BenchRecord[]) => {
    const keys = new Set(batch.map((r) => r.key))
    if ([...keys].some((k) => running.has(k))) overlaps++
    for (const k of keys) running.set(k, (running.get(k) ?? 0) + 1)
    const results = await resolvedRun(batch)
    for (const k of keys) {
      const n = running.get(k)! - 1
      if (n === 0) running.delete(k)
      else running.set(k, n)
    }
    return results
  }
  return { run, overlaps: () => overlaps }
}

/**
 * Times `batchByKey` against {@link naiveBatcher} on a synchronous source of records (default 200,000 records
 * over 5,000 keys, batch size 100, 4 batches at once, 5 ms delay, a run that returns a resolved Promise),
 * alternating the cases run by run in one process, and reports the median times and their ratio. Also checks,
 * in one untimed run each, how often a batch started with a key already running (0 for batchByKey).
 *
 * @example
 * const r = await runBatcherBench({ records: 50_000 })
 * console.log(`batchByKey/naive = ${r.ratio.toFixed(2)} (target <= ${r.target})`)
 */
export async function runBatcherBench(opts: BatcherBenchOptions = {}): Promise<BatcherBenchResult> {
  const { records = 200_000, keys = 5_000, partitions = 12, runs = 7, warmup = 2 } = opts
  const settings = { ...BATCHER_SETTINGS }
  if (opts.maxBatchSize !== undefined) settings.maxBatchSize = opts.maxBatchSize
  if (opts.maxConcurrentBatches !== undefined) settings.maxConcurrentBatches = opts.maxConcurrentBatches
  if (opts.accumulationDelay !== undefined) settings.accumulationDelay = opts.accumulationDelay
  const shape = { keys, partitions }
  const cases: Record<'batcher' | 'naive', (run: typeof resolvedRun) => Observable<unknown>> = {
    batcher: (run) => recordSource(shape, records).pipe(batchByKey((r: BenchRecord) => r.key, run, settings)),
    naive: (run) => recordSource(shape, records).pipe(naiveBatcher(run, settings)),
  }
  const times = { batcher: [] as number[], naive: [] as number[] }
  for (let i = 0; i < warmup + runs; i++) {
    // Alternate which case goes first, so neither always runs after the other's garbage.
    const order = i % 2 === 0 ? (['batcher', 'naive'] as const) : (['naive', 'batcher'] as const)
    for (const name of order) {
      collectGarbage()
      const { ms, emitted } = await timeRun(cases[name](resolvedRun))
      if (emitted !== records) throw new Error(`${name} emitted ${emitted} of ${records}`)
      if (i >= warmup) times[name].push(ms)
    }
  }
  const overlapsOf = async (name: 'batcher' | 'naive'): Promise<number> => {
    const counter = overlapCounter()
    await timeRun(cases[name](counter.run))
    return counter.overlaps()
  }
  const batcherMs = median(times.batcher)
  const naiveMs = median(times.naive)
  return {
    records,
    keys,
    batcherMs,
    naiveMs,
    ratio: batcherMs / naiveMs,
    target: BATCHER_TARGET,
    batcherOverlaps: await overlapsOf('batcher'),
    naiveOverlaps: await overlapsOf('naive'),
  }
}
