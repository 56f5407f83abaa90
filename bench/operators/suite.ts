import { performance } from 'node:perf_hooks'
import { forkJson, median, mib, roundTo } from '../shared/measure'
import { COMMIT, makeCases, measureCase, measureLatency, type CaseConfig, type LatencyMeasurement, type Measurement } from './cases'
import { measureScaling, type ScalingMeasurement } from './scaling'
import { measurePair, type PairMeasurement } from './paired-runs'
import { printOperatorsReport, type CaseFigures, type LatencyFigures, type OperatorsReport } from './report'

/** Settings of the operators suite; each has a flag of the same name (`--records 20000`, `--latency-ms 5`). */
export interface OperatorsConfig extends CaseConfig {
  /** Size of the head-to-head comparison; scaling runs N/10, N and 3N, the latency-bound case N/10. */
  records: number
  /** Measured runs per case, interleaved across cases; the median is reported. */
  reps: number
  /** Measured runs of each naive case (at most `reps`): they take most of the suite's time. */
  naiveReps: number
  json: boolean
  /** Internal: this process is a child measuring one `case@count`, or `latency@count`. */
  child?: string
}

/** The figures the suite is held to (issue 2); the table marks each met or MISSED. */
export const TARGETS = { gbkc_vs_naive: 6, chain_vs_naive: 3, scaling: 1.3, littles_law: 0.95, batcher_vs_naive: 1.5 }
/** Live stats must cost less than this fraction of the chain's time (issue 4): `stats_cost` in the report. */
export const STATS_COST_TARGET = 0.05
/** Measured pairs per `stats@N` process. */
const STATS_PAIRS = 6
/** Measured pairs per `batcher_pair@N` process. */
const BATCHER_PAIRS = 6
/** Rounds over the three sizes per `scale@<case>` process. */
const SCALE_ROUNDS = 3

/** The sizes of the scaling series: N/10, N and 3N. */
function sizesOf(n: number): number[] {
  return [Math.max(1, Math.round(n / 10)), n, 3 * n]
}

function parseArgs(args: string[]): OperatorsConfig {
  const config: OperatorsConfig = { records: 1_000_000, keys: 10_000, partitions: 12, concurrency: 256, reps: 5, naiveReps: 3, latencyMs: 5, warmup: 0, warmupRuns: 5, json: false }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--json') {
      config.json = true
    } else if (arg === '--child') {
      config.child = args[++i]
    } else {
      const name = arg.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof OperatorsConfig
      const value = Number(args[++i])
      if (!arg.startsWith('--') || !(name in config) || typeof config[name] !== 'number' || !Number.isInteger(value) || value < 1) {
        throw new RangeError(`operators bench: bad option ${arg} ${String(args[i])}`)
      }
      ;(config as unknown as Record<string, number>)[name] = value
    }
  }
  // Warm-ups long enough for the JIT to settle, short next to the naive cases' measured runs. Run after run in
  // one process (four processes probed), the chain's third run cost 1.0-1.6x its steady cost and from the
  // fifth run on it was steady: with only two warm-ups, a 100,000-record measured run paid JIT warm-up that a
  // 3,000,000-record one amortised.
  if (config.warmup === 0) config.warmup = Math.max(10_000, Math.round(config.records / 20))
  return config
}

/** Flags that pass the suite's settings on to a child. */
function childArgs(config: OperatorsConfig, what: string): string[] {
  const flags = ['records', 'keys', 'partitions', 'concurrency', 'warmup', 'warmupRuns', 'latencyMs'] as const
  return ['operators', '--child', what, ...flags.flatMap((f) => [`--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(config[f])])]
}

const round = (x: number, digits = 2): number => roundTo(x, digits)

function figures(count: number, runs: Measurement[]): CaseFigures {
  const ms = median(runs.map((r) => r.ms))
  const cpuMs = median(runs.map((r) => r.cpuMs))
  return {
    records: count,
    runs_ms: runs.map((r) => round(r.ms, 1)),
    ms: round(ms, 1),
    records_per_s: Math.round((count / ms) * 1000),
    ns_per_record: round((ms * 1e6) / count, 1),
    cpu_ms: round(cpuMs, 1),
    cpu_ns_per_record: round((cpuMs * 1e6) / count, 1),
    peak_rss_mib: mib(Math.max(...runs.map((r) => r.peakRss))),
    peak_heap_used_mib: mib(Math.max(...runs.map((r) => r.peakHeapUsed))),
    heap_before_mib: mib(median(runs.map((r) => r.heapBefore))),
    heap_after_gc_mib: mib(median(runs.map((r) => r.heapAfterGc))),
    rss_after_gc_mib: mib(median(runs.map((r) => r.rssAfterGc))),
  }
}

/**
 * `npm run bench -- operators [--json] [--records N] [--keys K] [--partitions P] [--concurrency C] [--reps R]
 * [--naive-reps R] [--latency-ms D] [--warmup W] [--warmup-runs K]`
 */
const HELP = `npm run bench -- operators [options]
  --json               one JSON object as the last line of stdout (progress goes to stderr)
  --records N          records per measured run (default 1000000); scaling also runs N/10 and 3N
  --keys N             distinct keys (default 10000)         --partitions N  (default 12)
  --concurrency N      groupByKeyConcat's concurrency (default 256)
  --reps N             rounds over the cases (default 5)     --naive-reps N  rounds with the naive cases (default 3)
  --warmup N           records per warm-up run (default max(10000, N/20))
  --warmup-runs N      warm-up runs before each measured run (default 5)
  --latency-ms N       the latency-bound case's timer (default 5)
`

export async function run(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP)
    return
  }
  const config = parseArgs(args)
  if (config.child !== undefined) {
    const [what, count] = config.child.split('@')
    const result =
      what === 'latency' ? await measureLatency(config, Number(count))
        : what === 'stats' ? await measurePair(config, 'chain_sync', 'chain_sync_stats', Number(count), STATS_PAIRS)
        : what === 'batcher_pair' ? await measurePair(config, 'naive_batcher', 'batcher', Number(count), BATCHER_PAIRS)
          : what === 'scale' ? await measureScaling(config, count!, sizesOf(config.records), SCALE_ROUNDS)
          : await measureCase(config, what, Number(count))
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  // Progress goes to stderr so that stdout holds only the table, or only the JSON line.
  const log = (s: string): void => void process.stderr.write(`${s}\n`)
  const script = process.argv[1]
  const started = performance.now()
  const N = config.records
  const sizes = sizesOf(N)

  // chain_sync_stats is measured paired with chain_sync instead (below), not as a case of its own.
  const names = Object.keys(makeCases(config)).filter((name) => name !== 'chain_sync_stats')
  // Series whose per-record cost is measured at every size. The chain with a Promise projection is left out
  // for time: its cost is the gbkc_promise backlog plus the sync chain's stages, both measured.
  const scaled = ['gbkc_sync', 'chain_sync', 'gbkc_promise']
  const runs = [
    ...names.map((name) => `${name}@${N}`),
    ...scaled.flatMap((name) => [sizes[0], sizes[2]].map((count) => `${name}@${count}`)),
  ]
  // Naive cases, and the scaled sizes other than N (their memory and the per-process reading; the scaling
  // figure itself comes from the in-process runs below), run in the first `naiveReps` rounds only.
  const fewer = (what: string): boolean => what.startsWith('naive') || !what.endsWith(`@${N}`)
  const repsOf = (what: string): number => (fewer(what) ? Math.min(config.naiveReps, config.reps) : config.reps)
  log(`operators bench: ${N} records over ${config.keys} keys, ${config.partitions} partitions, concurrency ${config.concurrency}`)
  log(`${config.reps} interleaved rounds (naive cases in the first ${Math.min(config.naiveReps, config.reps)}), each run in its own process after ${config.warmupRuns} warm-up runs of ${config.warmup} records`)

  const results = new Map<string, Measurement[]>(runs.map((r) => [r, []]))
  for (let rep = 0; rep < config.reps; rep++) {
    const round = runs.filter((what) => rep < repsOf(what))
    for (let j = 0; j < round.length; j++) {
      // Rotated by one per round, so drift of the machine (thermal, other load) spreads over all cases.
      const what = round[(j + rep) % round.length]
      const m = forkJson<Measurement>(script, childArgs(config, what))
      results.get(what)!.push(m)
      log(`  round ${rep + 1}/${config.reps} ${what}: ${m.ms.toFixed(1)} ms (cpu ${m.cpuMs.toFixed(1)} ms), peak heap ${mib(m.peakHeapUsed)} MiB`)
    }
  }
  const at = (name: string, count: number): CaseFigures => figures(count, results.get(`${name}@${count}`)!)

  log(`latency-bound: ${sizes[0]} records, ${config.latencyMs} ms projections, concurrency ${config.concurrency}`)
  const latencyRuns: LatencyMeasurement[] = []
  for (let rep = 0; rep < Math.min(config.reps, 3); rep++) {
    const m = forkJson<LatencyMeasurement>(script, childArgs(config, `latency@${sizes[0]}`))
    latencyRuns.push(m)
    log(`  run ${rep + 1}: ${m.ms.toFixed(1)} ms, mean projection ${m.meanProjectionMs.toFixed(3)} ms`)
  }
  // Scaling: every size in one process (see bench/operators/scaling.ts), in several processes; the ratio is taken
  // within each process (where the sizes share JIT state and the machine's moment), then the median of those.
  const scaleProcesses = Math.min(config.reps, 5)
  log(`scaling: ${sizes.join(' / ')} records in one process, each size run back to back up to ${sizes[2]} records a round, ${SCALE_ROUNDS} rotated rounds, ${scaleProcesses} processes per series`)
  const inProcess = new Map<string, ScalingMeasurement[]>()
  for (let rep = 0; rep < scaleProcesses; rep++) {
    for (const name of scaled) {
      const m = forkJson<ScalingMeasurement>(script, childArgs(config, `scale@${name}`))
      inProcess.set(name, [...(inProcess.get(name) ?? []), m])
      log(`  process ${rep + 1} ${name}: ns/record ${m.nsPerRecord.map((x) => x.toFixed(0)).join(' / ')}`)
    }
  }

  // Paired runs, several processes each (bench/operators/paired-runs.ts): live stats against the plain chain, and
  // (issue 5) batchByKey against the naive batcher; each cost is the median of the per-pair ratios over every
  // process. The cases table keeps the batcher cases' separate-process figures too.
  const processes = Math.min(config.reps, 5)
  const pairedRatios = (label: string, child: string, pairs: number): { wall: number[]; cpu: number[] } => {
    log(`${label} at ${N} records, ${pairs} pairs in each of ${processes} processes`)
    const wall: number[] = []
    const cpu: number[] = []
    for (let rep = 0; rep < processes; rep++) {
      const m = forkJson<PairMeasurement>(script, childArgs(config, `${child}@${N}`))
      m.otherMs.forEach((ms, i) => wall.push(ms / m.baseMs[i]!))
      m.otherCpuMs.forEach((ms, i) => cpu.push(ms / m.baseCpuMs[i]!))
      log(`  process ${rep + 1}: per pair ${m.otherMs.map((ms, i) => (ms / m.baseMs[i]!).toFixed(3)).join(' ')}`)
    }
    return { wall, cpu }
  }
  const { wall: statsRatios, cpu: statsCpuRatios } = pairedRatios('live stats: chain_sync_stats / chain_sync', 'stats', STATS_PAIRS)
  const { wall: batcherRatios, cpu: batcherCpuRatios } = pairedRatios('batcher: batcher / naive_batcher', 'batcher_pair', BATCHER_PAIRS)

  const latencyMs = median(latencyRuns.map((r) => r.ms))
  const meanMs = median(latencyRuns.map((r) => r.meanProjectionMs))
  const perSecond = (sizes[0] / latencyMs) * 1000
  const bound = (config.concurrency / meanMs) * 1000
  const latency: LatencyFigures = {
    records: sizes[0],
    concurrency: config.concurrency,
    projection_ms: config.latencyMs,
    runs_ms: latencyRuns.map((r) => round(r.ms, 1)),
    ms: round(latencyMs, 1),
    records_per_s: Math.round(perSecond),
    mean_projection_ms: round(meanMs, 3),
    littles_law_bound_per_s: Math.round(bound),
    littles_law: round(perSecond / bound, 3),
  }

  const head = Object.fromEntries(names.map((name) => [name, at(name, N)]))
  const ratio = (naive: string, ours: string): number => round(head[naive].ms / head[ours].ms)
  // The same on CPU time: on a shared machine a long naive run is more likely to wait for a core than a
  // short one of ours, which inflates the wall-time ratio; the CPU-time one is the conservative reading.
  const cpuRatio = (naive: string, ours: string): number => round(head[naive].cpu_ms / head[ours].cpu_ms)
  const spread = (values: number[]): number => round(Math.max(...values) / Math.min(...values))
  const series = Object.fromEntries(
    scaled.map((name) => {
      const perSize = sizes.map((count) => at(name, count))
      const processes = inProcess.get(name)!
      const ns = sizes.map((_, k) => round(median(processes.map((m) => m.nsPerRecord[k]!)), 1))
      const cpuNs = sizes.map((_, k) => round(median(processes.map((m) => m.cpuNsPerRecord[k]!)), 1))
      return [
        name,
        {
          ns_per_record: Object.fromEntries(sizes.map((count, k) => [count, ns[k]])),
          ratio: round(median(processes.map((m) => spread(m.nsPerRecord)))),
          cpu_ns_per_record: Object.fromEntries(sizes.map((count, k) => [count, cpuNs[k]])),
          cpu_ratio: round(median(processes.map((m) => spread(m.cpuNsPerRecord)))),
          per_process_ratio: processes.map((m) => spread(m.nsPerRecord)),
          pooled_ratio: spread(ns),
          runs_ns_per_record: processes.map((m) => m.runsNsPerRecord.map((r) => r.map((x) => round(x, 1)))),
          // Each size in processes of its own (the cases' method): memory, and the per-process reading.
          separate_ns_per_record: Object.fromEntries(perSize.map((f) => [f.records, f.ns_per_record])),
          separate_ratio: spread(perSize.map((f) => f.ns_per_record)),
          sizes: perSize,
        },
      ]
    }),
  )

  const report: OperatorsReport = {
    suite: 'operators',
    gbkc_vs_naive: ratio('naive_sync', 'gbkc_sync'),
    gbkc_vs_naive_promise: ratio('naive_promise', 'gbkc_promise'),
    chain_vs_naive: ratio('naive_chain_sync', 'chain_sync'),
    gbkc_vs_naive_cpu: cpuRatio('naive_sync', 'gbkc_sync'),
    gbkc_vs_naive_promise_cpu: cpuRatio('naive_promise', 'gbkc_promise'),
    chain_vs_naive_cpu: cpuRatio('naive_chain_sync', 'chain_sync'),
    // The headline is the synchronous projection, as for the ratios: the worse of groupByKeyConcat alone
    // and the chain, on wall time. The same on CPU time (which another tenant of the machine cannot
    // inflate by taking the core away) and the Promise series are reported beside it.
    scaling: Math.max(series.gbkc_sync.ratio, series.chain_sync.ratio),
    scaling_cpu: Math.max(series.gbkc_sync.cpu_ratio, series.chain_sync.cpu_ratio),
    scaling_promise: series.gbkc_promise.ratio,
    scaling_promise_cpu: series.gbkc_promise.cpu_ratio,
    littles_law: latency.littles_law,
    // Live stats on (chain_sync_stats) against off (chain_sync), paired in one process: the time they add.
    stats_cost: round(median(statsRatios) - 1, 3),
    stats_cost_cpu: round(median(statsCpuRatios) - 1, 3),
    stats_cost_pairs: statsRatios.map((r) => round(r, 3)),
    stats_cost_target: STATS_COST_TARGET,
    // Issue 5, the other way round: what batchByKey costs over the naive batcher (lower is better), paired in
    // one process; the ratio of the two cases' medians from separate processes beside it.
    batcher_vs_naive: round(median(batcherRatios)),
    batcher_vs_naive_cpu: round(median(batcherCpuRatios)),
    batcher_vs_naive_pairs: batcherRatios.map((r) => round(r, 3)),
    batcher_vs_naive_separate: round(head.batcher.ms / head.naive_batcher.ms),
    batcher_vs_naive_separate_cpu: round(head.batcher.cpu_ms / head.naive_batcher.cpu_ms),
    targets: TARGETS,
    config: { ...config, sizes, commit: COMMIT, node: process.version },
    cases: head,
    scaling_detail: series,
    latency,
    total_s: round((performance.now() - started) / 1000, 1),
  }
  printOperatorsReport(report)
}
