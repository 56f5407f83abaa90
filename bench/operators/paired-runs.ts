import { makeCases, runChecked, type CaseConfig } from './cases'
import type { RecordShape } from '../shared/records'

/** One process's paired runs of two cases, in ms (wall and CPU), pair i being `baseMs[i]` and `otherMs[i]`. */
export interface PairMeasurement {
  baseMs: number[]
  otherMs: number[]
  baseCpuMs: number[]
  otherCpuMs: number[]
}

/**
 * The body of a paired child (`stats@count`: `chain_sync` against `chain_sync_stats`; `batcher_pair@count`:
 * `naive_batcher` against `batcher`): two cases measured side by side in ONE process, after `warmupRuns`
 * warm-ups of each, in `pairs` pairs whose order alternates (AB, BA, ...). The suite's figure is the median
 * of the per-pair ratios over several such processes.
 *
 * ```text
 * warm-ups: A B A B ...   pairs: (A B) (B A) (A B) ...   ratio per pair: other / base
 * ```
 *
 * Why paired: one case's time differs by up to 2x from process to process on a shared machine (V8 settles on
 * faster or slower code, another tenant takes a core), far more than the few percent of stats or the
 * batcher's cost over the naive one that is sought; two runs next to each other in one process see the same
 * JIT state and load, and their ratio measures the difference alone.
 *
 * @example
 * const m = await measurePair(config, 'naive_batcher', 'batcher', 1_000_000, 6)
 * const ratios = m.otherMs.map((ms, i) => ms / m.baseMs[i]!)
 */
export async function measurePair(config: CaseConfig, baseName: string, otherName: string, count: number, pairs: number): Promise<PairMeasurement> {
  const cases = makeCases(config)
  const base = cases[baseName]
  const other = cases[otherName]
  if (base === undefined || other === undefined) throw new RangeError(`operators bench: no case ${base === undefined ? baseName : otherName}`)
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }
  return runPairs((n) => runChecked(base, shape, n), (n) => runChecked(other, shape, n), config, count, pairs)
}

/** One timed run of `count` records: wall and CPU ms. */
export type TimedRun = (count: number) => Promise<{ ms: number; cpuMs: number }>

/**
 * The pairing itself, for any two runs (two cases here, two builds of one case in compare-builds.ts):
 * `warmupRuns` warm-ups of `warmup` records each, alternately, then `pairs` pairs of `count` records whose
 * first alternates.
 */
export async function runPairs(
  base: TimedRun,
  other: TimedRun,
  config: Pick<CaseConfig, 'warmup' | 'warmupRuns'>,
  count: number,
  pairs: number,
): Promise<PairMeasurement> {
  const warm = Math.min(count, config.warmup)
  for (let i = 0; i < config.warmupRuns; i++) {
    await base(warm)
    await other(warm)
  }
  const out: PairMeasurement = { baseMs: [], otherMs: [], baseCpuMs: [], otherCpuMs: [] }
  for (let i = 0; i < pairs; i++) {
    for (const isOther of i % 2 === 0 ? [false, true] : [true, false]) {
      const { ms, cpuMs } = await (isOther ? other : base)(count)
      ;(isOther ? out.otherMs : out.baseMs).push(ms)
      ;(isOther ? out.otherCpuMs : out.baseCpuMs).push(cpuMs)
    }
  }
  return out
}
