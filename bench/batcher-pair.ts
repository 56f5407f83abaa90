import { makeCases, runChecked, type CaseConfig } from './operators-cases'
import type { RecordShape } from './records'

/** One process's paired runs of the `naive_batcher` and `batcher` cases, in ms (wall and CPU). */
export interface BatcherPairMeasurement {
  naiveMs: number[]
  batcherMs: number[]
  naiveCpuMs: number[]
  batcherCpuMs: number[]
}

/**
 * The body of a `batcher_pair@count` child: `batcher` and `naive_batcher` measured side by side in ONE process,
 * after `warmupRuns` warm-ups of each, in `pairs` pairs whose order alternates (AB, BA, ...); the suite's
 * `batcher_vs_naive` is the median of the per-pair ratios over several such processes.
 *
 * Why paired, as `stats_cost` is: one case's time differs up to 2x from process to process on a shared machine
 * (V8 settles on different code, another tenant takes a core), so a ratio of two medians taken in separate
 * processes swung between 1.6 and 1.96 on unchanged code. Two runs next to each other in one process see the
 * same load, and their ratio is what batchByKey costs over the naive batcher.
 */
export async function measureBatcherPair(config: CaseConfig, count: number, pairs: number): Promise<BatcherPairMeasurement> {
  const cases = makeCases(config)
  const naive = cases.naive_batcher!
  const batcher = cases.batcher!
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }
  const warm = Math.min(count, config.warmup)
  for (let i = 0; i < config.warmupRuns; i++) {
    await runChecked(naive, shape, warm)
    await runChecked(batcher, shape, warm)
  }
  const out: BatcherPairMeasurement = { naiveMs: [], batcherMs: [], naiveCpuMs: [], batcherCpuMs: [] }
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false]
    for (const ours of order) {
      const { ms, cpuMs } = await runChecked(ours ? batcher : naive, shape, count)
      ;(ours ? out.batcherMs : out.naiveMs).push(ms)
      ;(ours ? out.batcherCpuMs : out.naiveCpuMs).push(cpuMs)
    }
  }
  return out
}
