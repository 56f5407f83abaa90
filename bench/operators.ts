import { performance } from 'node:perf_hooks'
import { asyncScheduler, defer, map, of, timer, type Observable, type ObservableInput } from 'rxjs'
import { OffsetTracker } from '../lib/offset-tracker'
import type { TrackedCommitOffset } from '../lib/record'
import { commitOffsets } from '../operators/commit-offsets'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { orderedMerge } from '../operators/ordered-merge'
import { trackDelivery } from '../operators/track-delivery'
import { median, mib, runOnce, type MemorySampler, type RunResult } from './measure'
import { naiveCommit, naiveGroupByKeyConcat, naiveOrderedMerge, naiveTrackDelivery } from './naive'
import { recordSource, type BenchRecord, type RecordShape } from './records'

/** Settings of the operators suite; every one has a command-line flag of the same name. */
interface Config {
  /** Size of the head-to-head comparison; scaling runs N/10, N and 3N, the latency case N/10. */
  records: number
  keys: number
  partitions: number
  concurrency: number
  /** Measured runs per case, interleaved across cases; the median is reported. */
  reps: number
  /** Duration of each projection in the latency-bound case, ms. */
  latencyMs: number
  json: boolean
}

const TARGETS = { gbkc_vs_naive: 6, chain_vs_naive: 3, scaling: 1.3, littles_law: 0.95 }
// Commit settings of both chains: a commit every 1000 finished records or every second, as a real consumer.
const COMMIT = { interval: 1000, batchSize: 1000 }

function parseArgs(args: string[]): Config {
  const config: Config = { records: 1_000_000, keys: 10_000, partitions: 12, concurrency: 256, reps: 5, latencyMs: 5, json: false }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--json') {
      config.json = true
      continue
    }
    const name = arg.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Config
    const value = Number(args[++i])
    if (!(name in config) || name === 'json' || !Number.isInteger(value) || value < 1) {
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

/** A case: how to build its pipeline over the first `count` records, and how to check it did the work. */
interface Case {
  name: string
  build(source: Observable<BenchRecord>, count: number): { output: Observable<unknown>; check(result: RunResult): void }
}

function gbkcCase(config: Config, projection: Projection, naive: boolean): Case {
  const project = projections[projection]
  const operator = naive ? naiveGroupByKeyConcat(keyOf, project) : groupByKeyConcat(keyOf, project, { concurrency: config.concurrency })
  return {
    name: `${naive ? 'naive' : 'gbkc'}_${projection}`,
    build: (source, count) => ({
      output: source.pipe(operator),
      check: (result) => {
        if (result.emitted !== count) throw new Error(`${naive ? 'naive' : 'gbkc'}: ${result.emitted} Processed for ${count} records`)
      },
    }),
  }
}

/** The source alone: what making the records costs, included in every other case's time. */
const sourceOnly: Case = {
  name: 'source_only',
  build: (source, count) => ({
    output: source,
    check: (result) => {
      if (result.emitted !== count) throw new Error(`source: ${result.emitted} records for ${count}`)
    },
  }),
}

function chainCase(config: Config, projection: Projection, naive: boolean): Case {
  const project = projections[projection]
  return {
    name: `${naive ? 'naive_chain' : 'chain'}_${projection}`,
    build: (source) => {
      const tracker = new OffsetTracker()
      const output: Observable<unknown> = naive
        ? source.pipe(
            naiveTrackDelivery(tracker),
            naiveGroupByKeyConcat(keyOf, project),
            naiveOrderedMerge(),
            naiveCommit(tracker, commit, COMMIT),
          )
        : source.pipe(
            trackDelivery(tracker),
            groupByKeyConcat(keyOf, project, { concurrency: config.concurrency }),
            orderedMerge(),
            commitOffsets({ tracker, commit: (_: readonly TrackedCommitOffset[]) => commit() }, COMMIT),
          )
      return {
        output,
        check: () => {
          // Every partition must end fully committed: the chain did all the work, not just some.
          for (const p of tracker.partitions()) {
            const last = Number(p.lastDeliveredOffset)
            if (p.inFlight !== 0 || p.committed !== String(last + 1)) {
              throw new Error(`${naive ? 'naive chain' : 'chain'}: partition ${p.partition} ends at ${String(p.committed)}, in flight ${p.inFlight}, last offset ${last}`)
            }
          }
        },
      }
    },
  }
}

/** Summary of one case at one size: medians over the runs, peaks over the runs. */
interface CaseFigures {
  records: number
  runs_ms: number[]
  ms: number
  records_per_s: number
  ns_per_record: number
  peak_rss_mib: number
  peak_heap_used_mib: number
  heap_before_mib: number
  heap_after_gc_mib: number
  rss_after_gc_mib: number
}

function summarize(count: number, results: RunResult[]): CaseFigures {
  const ms = median(results.map((r) => r.ms))
  return {
    records: count,
    runs_ms: results.map((r) => Math.round(r.ms * 10) / 10),
    ms: Math.round(ms * 10) / 10,
    records_per_s: Math.round((count / ms) * 1000),
    ns_per_record: Math.round((ms * 1e6) / count),
    peak_rss_mib: mib(Math.max(...results.map((r) => r.peak.rss))),
    peak_heap_used_mib: mib(Math.max(...results.map((r) => r.peak.heapUsed))),
    heap_before_mib: mib(median(results.map((r) => r.heapBefore))),
    heap_after_gc_mib: mib(median(results.map((r) => r.heapAfterGc))),
    rss_after_gc_mib: mib(median(results.map((r) => r.rssAfterGc))),
  }
}

async function runCase(c: Case, shape: RecordShape, count: number): Promise<RunResult> {
  let check: (r: RunResult) => void = () => undefined
  const result = await runOnce((sampler) => {
    const built = c.build(sampledSource(shape, count, sampler), count)
    check = built.check
    return built.output
  }).catch((error: unknown) => {
    throw new Error(`case ${c.name} at ${count} records: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  })
  check(result)
  return result
}

/**
 * Runs every (case, size) `reps` times, interleaved: each round runs all of them once, in an order rotated
 * by one per round, so drift of the machine (thermal, other load) spreads over all cases alike.
 */
async function interleaved(runs: { key: string; c: Case; count: number }[], shape: RecordShape, reps: number, log: (s: string) => void): Promise<Map<string, RunResult[]>> {
  const results = new Map<string, RunResult[]>(runs.map((r) => [r.key, []]))
  for (let rep = 0; rep < reps; rep++) {
    for (let j = 0; j < runs.length; j++) {
      const run = runs[(j + rep) % runs.length]
      const result = await runCase(run.c, shape, run.count)
      results.get(run.key)!.push(result)
      log(`  round ${rep + 1}/${reps} ${run.key}: ${result.ms.toFixed(1)} ms`)
    }
  }
  return results
}

interface LatencyFigures {
  records: number
  concurrency: number
  projection_ms: number
  runs_ms: number[]
  ms: number
  records_per_s: number
  mean_projection_ms: number
  littles_law_bound_per_s: number
  littles_law: number
}

/** One latency-bound run: each projection a `timer` of `latencyMs`, its real duration measured inside it. */
async function latencyRun(config: Config, shape: RecordShape, count: number): Promise<{ ms: number; meanMs: number }> {
  let total = 0
  let n = 0
  const project = (r: BenchRecord): Observable<BenchRecord> =>
    defer(() => {
      const t0 = performance.now()
      return timer(config.latencyMs, asyncScheduler).pipe(
        map(() => {
          total += performance.now() - t0
          n++
          return r
        }),
      )
    })
  const result = await runOnce((sampler) => sampledSource(shape, count, sampler).pipe(groupByKeyConcat(keyOf, project, { concurrency: config.concurrency })))
  if (result.emitted !== count || n !== count) throw new Error(`latency: ${result.emitted} Processed, ${n} projections for ${count} records`)
  return { ms: result.ms, meanMs: total / n }
}

/** The records of a run, sampling memory as they go. */
function sampledSource(shape: RecordShape, count: number, sampler: MemorySampler): Observable<BenchRecord> {
  return recordSource(shape, count, () => sampler.sample())
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

export async function run(args: string[]): Promise<void> {
  const config = parseArgs(args)
  // Progress goes to stderr so that stdout stays the table or the one JSON line.
  const log = (s: string): void => void process.stderr.write(`${s}\n`)
  const started = performance.now()
  const N = config.records
  const sizes = [Math.max(1, Math.round(N / 10)), N, 3 * N]
  const latencyCount = sizes[0]

  log(`operators bench: ${N} records over ${config.keys} keys, ${config.partitions} partitions, concurrency ${config.concurrency}`)
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }

  const cases = {
    source_only: sourceOnly,
    gbkc_sync: gbkcCase(config, 'sync', false),
    naive_sync: gbkcCase(config, 'sync', true),
    gbkc_promise: gbkcCase(config, 'promise', false),
    naive_promise: gbkcCase(config, 'promise', true),
    chain_sync: chainCase(config, 'sync', false),
    naive_chain_sync: chainCase(config, 'sync', true),
    chain_promise: chainCase(config, 'promise', false),
    naive_chain_promise: chainCase(config, 'promise', true),
  }
  const scaled = ['gbkc_sync', 'gbkc_promise', 'chain_sync', 'chain_promise'] as const

  log('warm-up')
  for (const c of Object.values(cases)) await runCase(c, shape, sizes[0])
  await latencyRun(config, shape, Math.min(latencyCount, 5000))

  log(`head to head at ${N} records, and scaling at ${sizes[0]} and ${sizes[2]}`)
  const runs = [
    ...Object.entries(cases).map(([key, c]) => ({ key: `${key}@${N}`, c, count: N })),
    ...scaled.flatMap((key) => [sizes[0], sizes[2]].map((count) => ({ key: `${key}@${count}`, c: cases[key], count }))),
  ]
  const results = await interleaved(runs, shape, config.reps, log)
  const figures = (key: string, count: number): CaseFigures => summarize(count, results.get(`${key}@${count}`)!)

  log(`latency-bound: ${latencyCount} records, ${config.latencyMs} ms projections, concurrency ${config.concurrency}`)
  const latencyRuns: { ms: number; meanMs: number }[] = []
  for (let rep = 0; rep < Math.min(config.reps, 3); rep++) {
    latencyRuns.push(await latencyRun(config, shape, latencyCount))
    log(`  run ${rep + 1}: ${latencyRuns[rep].ms.toFixed(1)} ms, mean projection ${latencyRuns[rep].meanMs.toFixed(3)} ms`)
  }
  const ms = median(latencyRuns.map((r) => r.ms))
  const meanMs = median(latencyRuns.map((r) => r.meanMs))
  const perSecond = (latencyCount / ms) * 1000
  const bound = (config.concurrency / meanMs) * 1000
  const latency: LatencyFigures = {
    records: latencyCount,
    concurrency: config.concurrency,
    projection_ms: config.latencyMs,
    runs_ms: latencyRuns.map((r) => round(r.ms, 1)),
    ms: round(ms, 1),
    records_per_s: Math.round(perSecond),
    mean_projection_ms: round(meanMs, 3),
    littles_law_bound_per_s: Math.round(bound),
    littles_law: round(perSecond / bound, 3),
  }

  const head = Object.fromEntries(Object.keys(cases).map((key) => [key, figures(key, N)]))
  const ratio = (naive: string, ours: string): number => round(head[naive].ms / head[ours].ms)
  const scaling = Object.fromEntries(
    scaled.map((key) => {
      const perSize = sizes.map((count) => figures(key, count))
      const ns = perSize.map((f) => (f.ms * 1e6) / f.records)
      return [key, { ns_per_record: Object.fromEntries(perSize.map((f, i) => [f.records, round(ns[i], 1)])), ratio: round(Math.max(...ns) / Math.min(...ns)), sizes: perSize }]
    }),
  )

  const report = {
    suite: 'operators',
    gbkc_vs_naive: ratio('naive_sync', 'gbkc_sync'),
    gbkc_vs_naive_promise: ratio('naive_promise', 'gbkc_promise'),
    chain_vs_naive: ratio('naive_chain_sync', 'chain_sync'),
    chain_vs_naive_promise: ratio('naive_chain_promise', 'chain_promise'),
    // The worst of the groupByKeyConcat series (sync and promise); the chain's are reported beside it.
    scaling: Math.max(scaling.gbkc_sync.ratio, scaling.gbkc_promise.ratio),
    scaling_chain: Math.max(scaling.chain_sync.ratio, scaling.chain_promise.ratio),
    littles_law: latency.littles_law,
    targets: TARGETS,
    config: { ...config, sizes, commit: COMMIT, node: process.version },
    cases: head,
    scaling_detail: scaling,
    latency,
    total_s: round((performance.now() - started) / 1000, 1),
  }
  printReport(report, config.json)
}

type Report = {
  gbkc_vs_naive: number
  gbkc_vs_naive_promise: number
  chain_vs_naive: number
  chain_vs_naive_promise: number
  scaling: number
  scaling_chain: number
  littles_law: number
  config: Config & { sizes: number[] }
  cases: Record<string, CaseFigures>
  scaling_detail: Record<string, { ns_per_record: Record<string, number>; ratio: number; sizes: CaseFigures[] }>
  latency: LatencyFigures
  total_s: number
}

function printReport(report: Report, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`)
    return
  }
  const out: string[] = []
  const pad = (s: string | number, n: number): string => String(s).padStart(n)
  const verdict = (value: number, target: number, atLeast: boolean): string => ((atLeast ? value >= target : value <= target) ? 'met' : 'MISSED')
  out.push(`records ${report.config.records}, keys ${report.config.keys}, partitions ${report.config.partitions}, concurrency ${report.config.concurrency}, ${report.config.reps} interleaved runs per case (median)`)
  out.push('')
  out.push('headline                     value   target')
  out.push(`gbkc_vs_naive (sync)      ${pad(report.gbkc_vs_naive, 8)}   >= ${TARGETS.gbkc_vs_naive}  ${verdict(report.gbkc_vs_naive, TARGETS.gbkc_vs_naive, true)}`)
  out.push(`gbkc_vs_naive (promise)   ${pad(report.gbkc_vs_naive_promise, 8)}`)
  out.push(`chain_vs_naive (sync)     ${pad(report.chain_vs_naive, 8)}   >= ${TARGETS.chain_vs_naive}  ${verdict(report.chain_vs_naive, TARGETS.chain_vs_naive, true)}`)
  out.push(`chain_vs_naive (promise)  ${pad(report.chain_vs_naive_promise, 8)}`)
  out.push(`scaling (gbkc)            ${pad(report.scaling, 8)}   <= ${TARGETS.scaling}  ${verdict(report.scaling, TARGETS.scaling, false)}`)
  out.push(`scaling (chain)           ${pad(report.scaling_chain, 8)}`)
  out.push(`littles_law               ${pad(report.littles_law, 8)}   >= ${TARGETS.littles_law}  ${verdict(report.littles_law, TARGETS.littles_law, true)}`)
  out.push('')
  out.push(`case @ ${report.config.records}            ms   records/s   ns/rec  peak heap MiB  heap after GC MiB`)
  for (const [name, f] of Object.entries(report.cases)) {
    out.push(`${name.padEnd(20)} ${pad(f.ms, 9)} ${pad(f.records_per_s, 11)} ${pad(f.ns_per_record, 8)} ${pad(f.peak_heap_used_mib, 14)} ${pad(f.heap_after_gc_mib, 18)}`)
  }
  out.push('')
  out.push('scaling               records   ns/rec  peak heap MiB  peak rss MiB  heap before/after GC MiB')
  for (const [name, s] of Object.entries(report.scaling_detail)) {
    for (const f of s.sizes) {
      out.push(`${name.padEnd(16)} ${pad(f.records, 12)} ${pad(round((f.ms * 1e6) / f.records, 1), 8)} ${pad(f.peak_heap_used_mib, 14)} ${pad(f.peak_rss_mib, 13)}  ${f.heap_before_mib} / ${f.heap_after_gc_mib}`)
    }
    out.push(`${''.padEnd(16)} ratio ${s.ratio}`)
  }
  out.push('')
  const l = report.latency
  out.push(`latency-bound: ${l.records} records, ${l.projection_ms} ms timer each, concurrency ${l.concurrency}: ${l.ms} ms, ${l.records_per_s} records/s`)
  out.push(`  mean measured projection ${l.mean_projection_ms} ms -> Little's law bound ${l.littles_law_bound_per_s} records/s -> ${l.littles_law}`)
  out.push(`total ${report.total_s} s`)
  process.stdout.write(`${out.join('\n')}\n`)
}
