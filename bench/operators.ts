import { performance } from 'node:perf_hooks'
import { asyncScheduler, defer, map, of, timer, type Observable, type ObservableInput } from 'rxjs'
import { OffsetTracker } from '../lib/offset-tracker'
import { commitOffsets } from '../operators/commit-offsets'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { orderedMerge } from '../operators/ordered-merge'
import { trackDelivery } from '../operators/track-delivery'
import { median, memoryRun, mib, timeRun, type Memory, type Timing } from './measure'
import { naiveCommit, naiveGroupByKeyConcat, naiveOrderedMerge, naiveTrackDelivery } from './naive'
import { printOperatorsReport, type CaseFigures, type LatencyFigures, type OperatorsReport } from './operators-report'
import { recordSource, type BenchRecord, type RecordShape } from './records'

/** Settings of the operators suite; each has a flag of the same name (`--records 20000`, `--latency-ms 5`). */
export interface OperatorsConfig {
  /** Size of the head-to-head comparison; scaling runs N/10, N and 3N, the latency-bound case N/10. */
  records: number
  keys: number
  partitions: number
  concurrency: number
  /** Timed runs per case, interleaved across cases; the median is reported. */
  reps: number
  /** Duration of each projection in the latency-bound case, ms. */
  latencyMs: number
  json: boolean
}

export const TARGETS = { gbkc_vs_naive: 6, chain_vs_naive: 3, scaling: 1.3, littles_law: 0.95 }
// Both chains commit every 1000 finished records or every second, whichever first, through a commit that
// resolves at once: the bench measures the operators, not a broker.
const COMMIT = { interval: 1000, batchSize: 1000 }

function parseArgs(args: string[]): OperatorsConfig {
  const config: OperatorsConfig = { records: 1_000_000, keys: 10_000, partitions: 12, concurrency: 256, reps: 3, latencyMs: 5, json: false }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--json') {
      config.json = true
      continue
    }
    const name = arg.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof OperatorsConfig
    const value = Number(args[++i])
    if (!arg.startsWith('--') || !(name in config) || name === 'json' || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`operators bench: bad option ${arg} ${String(args[i])}`)
    }
    config[name] = value
  }
  return config
}

type Projection = 'sync' | 'promise'
const projections: Record<Projection, (r: BenchRecord) => ObservableInput<BenchRecord>> = {
  sync: (r) => of(r),
  promise: (r) => Promise.resolve(r),
}
const keyOf = (r: BenchRecord): string => r.key
const commit = (): Promise<boolean> => Promise.resolve(true)

/** A case: its pipeline over a source of `count` records, and a check that it did all the work. */
interface Case {
  readonly name: string
  build(source: Observable<BenchRecord>, count: number): { output: Observable<unknown>; check(emitted: number): void }
}

/** The source alone: what making the records costs, which is part of every other case's time. */
const sourceOnly: Case = {
  name: 'source_only',
  build: (source, count) => ({
    output: source,
    check: (emitted) => {
      if (emitted !== count) throw new Error(`${emitted} records for ${count}`)
    },
  }),
}

function gbkcCase(config: OperatorsConfig, projection: Projection, naive: boolean): Case {
  const project = projections[projection]
  return {
    name: `${naive ? 'naive' : 'gbkc'}_${projection}`,
    build: (source, count) => ({
      output: source.pipe(
        naive ? naiveGroupByKeyConcat(keyOf, project) : groupByKeyConcat(keyOf, project, { concurrency: config.concurrency }),
      ),
      check: (emitted) => {
        if (emitted !== count) throw new Error(`${emitted} Processed for ${count} records`)
      },
    }),
  }
}

function chainCase(config: OperatorsConfig, projection: Projection, naive: boolean): Case {
  const project = projections[projection]
  return {
    name: `${naive ? 'naive_chain' : 'chain'}_${projection}`,
    build: (source) => {
      const tracker = new OffsetTracker()
      const output: Observable<unknown> = naive
        ? source.pipe(naiveTrackDelivery(tracker), naiveGroupByKeyConcat(keyOf, project), naiveOrderedMerge(), naiveCommit(tracker, commit, COMMIT))
        : source.pipe(
            trackDelivery(tracker),
            groupByKeyConcat(keyOf, project, { concurrency: config.concurrency }),
            orderedMerge(),
            commitOffsets({ tracker, commit }, COMMIT),
          )
      return {
        output,
        check: () => {
          // Every partition must end fully committed: the chain did all the work, not just some.
          for (const p of tracker.partitions()) {
            const next = String(Number(p.lastDeliveredOffset) + 1)
            if (p.inFlight !== 0 || p.committed !== next) {
              throw new Error(`partition ${p.partition} committed ${String(p.committed)} (expected ${next}), ${p.inFlight} in flight`)
            }
          }
        },
      }
    },
  }
}

interface Run {
  readonly key: string
  readonly c: Case
  readonly count: number
}

/** One run of a case; a memory run forces GCs and samples memory, a timed run does neither. */
async function runCase(run: Run, shape: RecordShape, mode: 'time' | 'memory'): Promise<Timing | Memory> {
  let check: (emitted: number) => void = () => undefined
  const build = (onEvery?: () => void): Observable<unknown> => {
    const built = run.c.build(recordSource(shape, run.count, onEvery), run.count)
    check = built.check
    return built.output
  }
  try {
    const result = mode === 'memory' ? await memoryRun((sampler) => build(() => sampler.sample())) : await timeRun(build())
    check(result.emitted)
    return result
  } catch (error) {
    throw new Error(`case ${run.key}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
}

/**
 * Runs every case `reps` times, interleaved: each round runs all of them once, in an order rotated by one
 * per round, so drift of the machine (thermal, other load) spreads over all cases alike.
 */
async function interleaved(runs: Run[], shape: RecordShape, reps: number, log: (s: string) => void): Promise<Map<string, Timing[]>> {
  const results = new Map<string, Timing[]>(runs.map((r) => [r.key, []]))
  for (let rep = 0; rep < reps; rep++) {
    for (let j = 0; j < runs.length; j++) {
      const run = runs[(j + rep) % runs.length]
      const result = await runCase(run, shape, 'time')
      results.get(run.key)!.push(result)
      log(`  round ${rep + 1}/${reps} ${run.key}: ${result.ms.toFixed(1)} ms`)
    }
  }
  return results
}

/** One latency-bound run: each projection a `timer` of `latencyMs`, its real duration measured inside it. */
async function latencyRun(config: OperatorsConfig, shape: RecordShape, count: number): Promise<{ ms: number; meanMs: number }> {
  let total = 0
  let measured = 0
  const project = (r: BenchRecord): Observable<BenchRecord> =>
    defer(() => {
      const t0 = performance.now()
      return timer(config.latencyMs, asyncScheduler).pipe(
        map(() => {
          total += performance.now() - t0
          measured++
          return r
        }),
      )
    })
  const { ms, emitted } = await timeRun(recordSource(shape, count).pipe(groupByKeyConcat(keyOf, project, { concurrency: config.concurrency })))
  if (emitted !== count || measured !== count) throw new Error(`latency: ${emitted} Processed, ${measured} projections for ${count} records`)
  return { ms, meanMs: total / measured }
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

function figures(count: number, timings: Timing[], memory: Memory): CaseFigures {
  const ms = median(timings.map((t) => t.ms))
  return {
    records: count,
    runs_ms: timings.map((t) => round(t.ms, 1)),
    ms: round(ms, 1),
    records_per_s: Math.round((count / ms) * 1000),
    ns_per_record: round((ms * 1e6) / count, 1),
    peak_rss_mib: mib(memory.peak.rss),
    peak_heap_used_mib: mib(memory.peak.heapUsed),
    heap_before_mib: mib(memory.heapBefore),
    heap_after_gc_mib: mib(memory.heapAfterGc),
    rss_after_gc_mib: mib(memory.rssAfterGc),
  }
}

/** `npm run bench -- operators [--json] [--records N] [--keys K] [--partitions P] [--concurrency C] [--reps R] [--latency-ms D]` */
export async function run(args: string[]): Promise<void> {
  const config = parseArgs(args)
  // Progress goes to stderr so that stdout holds only the table, or only the JSON line.
  const log = (s: string): void => void process.stderr.write(`${s}\n`)
  const started = performance.now()
  const N = config.records
  const sizes = [Math.max(1, Math.round(N / 10)), N, 3 * N]
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }

  const cases: Record<string, Case> = {}
  for (const c of [
    sourceOnly,
    gbkcCase(config, 'sync', false),
    gbkcCase(config, 'sync', true),
    gbkcCase(config, 'promise', false),
    gbkcCase(config, 'promise', true),
    chainCase(config, 'sync', false),
    chainCase(config, 'sync', true),
    chainCase(config, 'promise', false),
    chainCase(config, 'promise', true),
  ]) {
    cases[c.name] = c
  }
  // Series whose per-record cost is measured at every size (the chain with a Promise projection is left
  // out for time: its cost is the gbkc_promise backlog plus the sync chain's stages).
  const scaled = ['gbkc_sync', 'chain_sync', 'gbkc_promise']
  const runs: Run[] = [
    ...Object.values(cases).map((c) => ({ key: `${c.name}@${N}`, c, count: N })),
    ...scaled.flatMap((name) => [sizes[0], sizes[2]].map((count) => ({ key: `${name}@${count}`, c: cases[name], count }))),
  ]

  log(`operators bench: ${N} records over ${config.keys} keys, ${config.partitions} partitions, concurrency ${config.concurrency}`)
  log('memory: one run of each case with a forced GC before and after (also a warm-up at full size)')
  const memory = new Map<string, Memory>()
  for (const run of runs) {
    const m = (await runCase(run, shape, 'memory')) as Memory
    memory.set(run.key, m)
    log(`  ${run.key}: peak heap ${mib(m.peak.heapUsed)} MiB, ${m.ms.toFixed(1)} ms`)
  }
  log('warm-up after the forced GCs')
  for (const c of Object.values(cases)) await runCase({ key: `${c.name}@${sizes[0]}`, c, count: sizes[0] }, shape, 'time')
  await latencyRun(config, shape, Math.min(sizes[0], 5000))

  log(`timing: ${config.reps} interleaved rounds`)
  const timings = await interleaved(runs, shape, config.reps, log)
  const at = (name: string, count: number): CaseFigures => figures(count, timings.get(`${name}@${count}`)!, memory.get(`${name}@${count}`)!)

  log(`latency-bound: ${sizes[0]} records, ${config.latencyMs} ms projections, concurrency ${config.concurrency}`)
  const latencyRuns: { ms: number; meanMs: number }[] = []
  for (let rep = 0; rep < Math.min(config.reps, 3); rep++) {
    latencyRuns.push(await latencyRun(config, shape, sizes[0]))
    log(`  run ${rep + 1}: ${latencyRuns[rep].ms.toFixed(1)} ms, mean projection ${latencyRuns[rep].meanMs.toFixed(3)} ms`)
  }
  const latencyMs = median(latencyRuns.map((r) => r.ms))
  const meanMs = median(latencyRuns.map((r) => r.meanMs))
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

  const head = Object.fromEntries(Object.keys(cases).map((name) => [name, at(name, N)]))
  const ratio = (naive: string, ours: string): number => round(head[naive].ms / head[ours].ms)
  const series = Object.fromEntries(
    scaled.map((name) => {
      const perSize = sizes.map((count) => at(name, count))
      const ns = perSize.map((f) => f.ns_per_record)
      return [name, { ns_per_record: Object.fromEntries(perSize.map((f) => [f.records, f.ns_per_record])), ratio: round(Math.max(...ns) / Math.min(...ns)), sizes: perSize }]
    }),
  )

  const report: OperatorsReport = {
    suite: 'operators',
    gbkc_vs_naive: ratio('naive_sync', 'gbkc_sync'),
    gbkc_vs_naive_promise: ratio('naive_promise', 'gbkc_promise'),
    chain_vs_naive: ratio('naive_chain_sync', 'chain_sync'),
    chain_vs_naive_promise: ratio('naive_chain_promise', 'chain_promise'),
    // The headline is the synchronous projection, as for the ratios: the worse of groupByKeyConcat alone
    // and the chain. The Promise series is reported beside it.
    scaling: Math.max(series.gbkc_sync.ratio, series.chain_sync.ratio),
    scaling_promise: series.gbkc_promise.ratio,
    littles_law: latency.littles_law,
    targets: TARGETS,
    config: { ...config, sizes, commit: COMMIT, node: process.version },
    cases: head,
    scaling_detail: series,
    latency,
    total_s: round((performance.now() - started) / 1000, 1),
  }
  printOperatorsReport(report)
}
