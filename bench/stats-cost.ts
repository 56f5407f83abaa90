import { makeCases, runChecked, type CaseConfig } from './operators-cases'
import type { RecordShape } from './records'

/** One process's paired runs of the chain without and with live stats, in ms (wall and CPU). */
export interface StatsPairMeasurement {
  baseMs: number[]
  statsMs: number[]
  baseCpuMs: number[]
  statsCpuMs: number[]
}

/**
 * The body of a `stats@count` child: `chain_sync` and `chain_sync_stats` measured side by side in ONE process,
 * after `warmupRuns` warm-ups of each, in `pairs` pairs whose order alternates (AB, BA, ...).
 *
 * Why paired, unlike the other cases: the difference sought (a few percent) is far below what separates two
 * processes on this machine (a case's medians differ by up to 1.5x from process to process, as V8 settles on
 * different code), while the two chains share all their code but the stats, so in one process they run with
 * the same JIT state and the per-pair ratio measures the stats alone.
 */
export async function measureStatsPair(config: CaseConfig, count: number, pairs: number): Promise<StatsPairMeasurement> {
  const cases = makeCases(config)
  const base = cases.chain_sync!
  const stats = cases.chain_sync_stats!
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }
  const warm = Math.min(count, config.warmup)
  for (let i = 0; i < config.warmupRuns; i++) {
    await runChecked(base, shape, warm)
    await runChecked(stats, shape, warm)
  }
  const out: StatsPairMeasurement = { baseMs: [], statsMs: [], baseCpuMs: [], statsCpuMs: [] }
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false]
    for (const withStats of order) {
      const { ms, cpuMs } = await runChecked(withStats ? stats : base, shape, count)
      ;(withStats ? out.statsMs : out.baseMs).push(ms)
      ;(withStats ? out.statsCpuMs : out.baseCpuMs).push(cpuMs)
    }
  }
  return out
}
