import { performance } from 'node:perf_hooks'
import { asyncScheduler, defer, finalize, map, of, timer, VirtualTimeScheduler, type Observable, type ObservableInput } from 'rxjs'
import { OffsetTracker } from '../../lib/tracker/offset-tracker'
import { PipelineMetrics } from '../../operators/pipeline-metrics'
import { pipelineStats } from '../../lib/stats/pipeline-stats'
import { commitOffsets } from '../../operators/commit-offsets'
import { groupByKeyConcat } from '../../operators/group-by-key-concat'
import { orderedMerge } from '../../operators/ordered-merge'
import { trackDelivery } from '../../operators/track-delivery'
import { collectGarbage, MemorySampler, timeRun } from '../shared/measure'
import { batchByKey } from '../../operators/batch-by-key'
import { BATCHER_SETTINGS, naiveBatcher, resolvedRun } from './batcher'
import { naiveCommit, naiveGroupByKeyConcat, naiveOrderedMerge, naiveTrackDelivery } from './naive'
import { recordSource, type BenchRecord, type RecordShape } from '../shared/records'

/** What a case needs to know of the suite's settings. */
export interface CaseConfig {
  keys: number
  partitions: number
  concurrency: number
  /** Records of each warm-up run before a measured run (at most the measured count). */
  warmup: number
  /** Warm-up runs before each measured run. */
  warmupRuns: number
  latencyMs: number
}

/**
 * Commit settings of both chains: every 1000 finished records or every second, whichever first, through a
 * commit that resolves at once (the bench measures the operators, not a broker).
 */
export const COMMIT = { interval: 1000, maxUncommitted: 1000 }

type Projection = 'sync' | 'promise'
const projections: Record<Projection, (r: BenchRecord) => ObservableInput<BenchRecord>> = {
  sync: (r) => of(r),
  promise: (r) => Promise.resolve(r),
}
const keyOf = (r: BenchRecord): string => r.key
const commit = (): Promise<boolean> => Promise.resolve(true)

/** A case's pipeline over a source of `count` records, and a check that it did all the work. */
type Case = (source: Observable<BenchRecord>, count: number) => {
  output: Observable<unknown>
  check(emitted: number): void
  /** Called by the source every 16,384 records (the memory sampler's hook), for cases with periodic work. */
  every16k?: () => void
}

const expectEmitted =
  (what: string, count: number) =>
  (emitted: number): void => {
    if (emitted !== count) throw new Error(`${emitted} ${what} for ${count} records`)
  }

function gbkcCase(config: CaseConfig, projection: Projection, naive: boolean): Case {
  const project = projections[projection]
  return (source, count) => ({
    output: source.pipe(naive ? naiveGroupByKeyConcat(keyOf, project) : groupByKeyConcat(keyOf, project, { concurrency: config.concurrency })),
    check: expectEmitted('Processed', count),
  })
}

function chainCase(config: CaseConfig, projection: Projection, naive: boolean): Case {
  const project = projections[projection]
  return (source) => {
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
  }
}

/**
 * The `chain_sync` chain with live stats on: `metrics` fed by groupByKeyConcat and a `pipelineStats`
 * snapshot (stuck-record check included) every 16,384 records, from the source's own hook (so the base
 * chain pays for the same hook). A synchronous run never yields to a real timer, so the stats run on a
 * virtual clock advanced one interval at those points: about 65 snapshots a second on this machine, far more
 * often than the seconds a service would choose, so the figure is an upper bound.
 */
function chainStatsCase(config: CaseConfig): Case {
  const project = projections.sync
  return (source, count) => {
    const tracker = new OffsetTracker()
    const metrics = new PipelineMetrics()
    const clock = new VirtualTimeScheduler()
    // One snapshot: the virtual clock moves one interval, the stats timer fires once.
    const every16k = (): void => {
      clock.maxFrames = clock.frame + 100
      clock.flush()
    }
    let snapshotsWithoutHotKeys = 0 // every snapshot must carry its hot keys (an array, at most the default 5)
    const output = defer(() => {
      const stats = pipelineStats({ tracker }, { interval: 100, metrics, stuckAfter: 1000, scheduler: clock }).subscribe((s) => {
        if (!Array.isArray(s.hotKeys) || s.hotKeys.length > 5) snapshotsWithoutHotKeys++
      })
      return source.pipe(
        trackDelivery(tracker),
        groupByKeyConcat(keyOf, project, { concurrency: config.concurrency, metrics }),
        orderedMerge(),
        commitOffsets({ tracker, commit }, COMMIT),
        finalize(() => stats.unsubscribe()),
      )
    })
    return {
      output,
      every16k,
      check: () => {
        if (count > 16_384 && clock.frame === 0) throw new Error('chain_sync_stats: no snapshot was taken')
        if (snapshotsWithoutHotKeys > 0) throw new Error(`chain_sync_stats: ${snapshotsWithoutHotKeys} snapshot(s) without a hotKeys list`)
        for (const p of tracker.partitions()) {
          const next = String(Number(p.lastDeliveredOffset) + 1)
          if (p.inFlight !== 0 || p.committed !== next) throw new Error(`partition ${p.partition} committed ${String(p.committed)} (expected ${next})`)
        }
      },
    }
  }
}

/**
 * Every case by name; `source_only` is what making the records costs, a part of every other case's time.
 * The chain runs with the synchronous projection only: with a Promise one, its cost is the gbkc_promise
 * backlog plus the same stages, and the naive chain would add half a minute to every round.
 */
export function makeCases(config: CaseConfig): Record<string, Case> {
  return {
    source_only: (source, count) => ({ output: source, check: expectEmitted('records', count) }),
    gbkc_sync: gbkcCase(config, 'sync', false),
    naive_sync: gbkcCase(config, 'sync', true),
    gbkc_promise: gbkcCase(config, 'promise', false),
    naive_promise: gbkcCase(config, 'promise', true),
    chain_sync: chainCase(config, 'sync', false),
    naive_chain_sync: chainCase(config, 'sync', true),
    chain_sync_stats: chainStatsCase(config),
    // Issue 5: batchByKey against bufferTime + mergeMap (which lets a key into two running batches).
    batcher: batcherCase(false),
    naive_batcher: batcherCase(true),
  }
}

/** A batch function that resolves at once over batches of 100, 4 at once, 5 ms accumulation (batcher.ts). */
function batcherCase(naive: boolean): Case {
  return (source, count) => ({
    output: source.pipe(naive ? naiveBatcher(resolvedRun, BATCHER_SETTINGS) : batchByKey(keyOf, resolvedRun, BATCHER_SETTINGS)),
    check: expectEmitted('Processed', count),
  })
}

/** One measured run, as a child process reports it (bytes and ms). */
export interface Measurement {
  ms: number
  /** CPU time of the whole process (main thread, GC and compiler threads) during the measured run. */
  cpuMs: number
  peakRss: number
  peakHeapUsed: number
  /** heapUsed just before the measured run (after the warm-ups, without a forced GC). */
  heapBefore: number
  heapAfterGc: number
  rssAfterGc: number
}

export async function runChecked(c: Case, shape: RecordShape, count: number, onEvery?: () => void): Promise<{ ms: number; cpuMs: number }> {
  const hook = (): void => {
    onEvery?.()
    built.every16k?.()
  }
  const built: ReturnType<Case> = c(recordSource(shape, count, hook), count)
  const cpu = process.cpuUsage()
  const { ms, emitted } = await timeRun(built.output)
  const used = process.cpuUsage(cpu)
  built.check(emitted)
  return { ms, cpuMs: (used.user + used.system) / 1000 }
}

/**
 * The body of a child process: `warmupRuns` warm-up runs, then the measured run with memory sampled, then a forced
 * GC for what it left behind. No forced GC before the measured run: V8 deoptimizes code that embedded
 * objects a GC just freed, and the re-optimization would land in the measured run.
 */
export async function measureCase(config: CaseConfig, name: string, count: number): Promise<Measurement> {
  const c = makeCases(config)[name]
  if (c === undefined) throw new RangeError(`operators bench: no case ${name}`)
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }
  const warm = Math.min(count, config.warmup)
  for (let i = 0; i < config.warmupRuns; i++) await runChecked(c, shape, warm)
  const sampler = new MemorySampler()
  const heapBefore = process.memoryUsage().heapUsed
  sampler.start()
  const { ms, cpuMs } = await runChecked(c, shape, count, () => sampler.sample()).finally(() => sampler.stop())
  collectGarbage()
  const after = process.memoryUsage()
  return { ms, cpuMs, peakRss: sampler.peak.rss, peakHeapUsed: sampler.peak.heapUsed, heapBefore, heapAfterGc: after.heapUsed, rssAfterGc: after.rss }
}

/** A latency-bound run: how long it took, and the mean duration of a projection measured inside it. */
export interface LatencyMeasurement {
  ms: number
  meanProjectionMs: number
}

async function latencyRun(config: CaseConfig, count: number): Promise<LatencyMeasurement> {
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
  const shape: RecordShape = { keys: config.keys, partitions: config.partitions }
  const { ms, emitted } = await timeRun(recordSource(shape, count).pipe(groupByKeyConcat(keyOf, project, { concurrency: config.concurrency })))
  if (emitted !== count || measured !== count) throw new Error(`latency: ${emitted} Processed, ${measured} projections for ${count} records`)
  return { ms, meanProjectionMs: total / measured }
}

/** The body of a latency child: a short warm-up run, then the measured one. */
export async function measureLatency(config: CaseConfig, count: number): Promise<LatencyMeasurement> {
  await latencyRun(config, Math.min(count, 5000))
  return latencyRun(config, count)
}
