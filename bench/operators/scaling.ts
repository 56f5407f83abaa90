import { median } from '../shared/measure'
import { makeCases, runChecked, type CaseConfig } from './cases'
import type { RecordShape } from '../shared/records'

/** What one `scale@<case>` child measured: per size, the median ns per record of its rounds, and every round's. */
export interface ScalingMeasurement {
  sizes: number[]
  nsPerRecord: number[]
  cpuNsPerRecord: number[]
  /** Per size, each round's ns per record: the mean over that round's block of runs (see below). */
  runsNsPerRecord: number[][]
}

/**
 * The body of a `scale@<case>` child: one case at every size in ONE process, after `warmupRuns` warm-ups,
 * in `rounds` rounds whose order rotates (so the garbage a 3N run leaves behind falls on every size in turn).
 *
 * Why in one process: per-record cost is what linearity is about, and on this machine two processes running
 * the same case differ by up to 1.5-2x (V8 settles on faster or slower code, and the measured runs split into
 * two clusters), which a median of a few processes per size turns into a ratio between sizes. Within one
 * process the sizes share that state, so their ratio is the cost of size alone.
 *
 * Why blocks: in a round each size runs back to back until it has done as many records as the largest size
 * (30 runs of N/10, 3 of N, 1 of 3N) and counts their total time, so every size's figure spans the same
 * stretch of time. The machine's speed changes over seconds (other tenants: the same run's CPU time per
 * record moved between ~500 and ~1,000 ns from one second to the next), and a median of three 50 ms runs
 * sampled it at three instants where one 3N run averaged it over seconds: a ratio of unlike statistics.
 * Each run in a block is still a whole run of its size (set-up and completion included).
 */
export async function measureScaling(config: CaseConfig, name: string, sizes: number[], rounds: number): Promise<ScalingMeasurement> {
  const c = makeCases(config)[name]
  if (c === undefined) throw new RangeError(`operators bench: no case ${name}`)
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }
  const largest = Math.max(...sizes)
  for (let i = 0; i < config.warmupRuns; i++) await runChecked(c, shape, Math.min(sizes[0]!, config.warmup))
  const runs: number[][] = sizes.map(() => [])
  const cpu: number[][] = sizes.map(() => [])
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < sizes.length; j++) {
      const k = (j + round) % sizes.length
      const count = sizes[k]!
      const repeats = Math.max(1, Math.round(largest / count))
      let ms = 0
      let cpuMs = 0
      for (let r = 0; r < repeats; r++) {
        const run = await runChecked(c, shape, count)
        ms += run.ms
        cpuMs += run.cpuMs
      }
      runs[k]!.push((ms * 1e6) / (count * repeats))
      cpu[k]!.push((cpuMs * 1e6) / (count * repeats))
    }
  }
  return { sizes, nsPerRecord: runs.map((r) => median(r)), cpuNsPerRecord: cpu.map((r) => median(r)), runsNsPerRecord: runs }
}
