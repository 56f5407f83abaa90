import { median } from './measure'
import { makeCases, runChecked, type CaseConfig } from './operators-cases'
import type { RecordShape } from './records'

/** What one `scale@<case>` child measured: per size, the median ns per record of its rounds, and every run. */
export interface ScalingMeasurement {
  sizes: number[]
  nsPerRecord: number[]
  cpuNsPerRecord: number[]
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
 */
export async function measureScaling(config: CaseConfig, name: string, sizes: number[], rounds: number): Promise<ScalingMeasurement> {
  const c = makeCases(config)[name]
  if (c === undefined) throw new RangeError(`operators bench: no case ${name}`)
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }
  for (let i = 0; i < config.warmupRuns; i++) await runChecked(c, shape, Math.min(sizes[0]!, config.warmup))
  const runs: number[][] = sizes.map(() => [])
  const cpu: number[][] = sizes.map(() => [])
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < sizes.length; j++) {
      const k = (j + round) % sizes.length
      const { ms, cpuMs } = await runChecked(c, shape, sizes[k]!)
      runs[k]!.push((ms * 1e6) / sizes[k]!)
      cpu[k]!.push((cpuMs * 1e6) / sizes[k]!)
    }
  }
  return { sizes, nsPerRecord: runs.map((r) => median(r)), cpuNsPerRecord: cpu.map((r) => median(r)), runsNsPerRecord: runs }
}
