/**
 * The demo's second phase: running the pipeline, shown live, until every record is committed, then shutting
 * it down.
 */
import type { Producer } from 'kafkajs'
import { DrainTimeoutError } from '../lib/source/drain'
import { PipelineMetrics } from '../operators/pipeline-metrics'
import { pipelineStats } from '../lib/stats/pipeline-stats'
import type { PipelineStats } from '../lib/stats/sampler'
import type { DemoOptions } from './demo-args'
import { count } from './demo-display'
import type { DemoLedger } from './demo-ledger'
import { chargePipeline, type OrderSource } from './demo-pipeline'
import type { Interrupt } from './demo-process'
import { pipelineFrame, type PipelineResult } from './demo-report'
import type { DemoScreen } from './demo-screen'

/** How often the live display's figures are sampled (`pipelineStats`'s interval: its rates are over it). */
const STATS_INTERVAL_MS = 250
/** No record processed and nothing committed for this long while records are left: a stall, not a hang. */
const STALL_MS = 60_000

/** What {@link runPipeline} runs against. */
export interface PipelineContext {
  readonly input: string
  readonly output: string
  /** End offset (high watermark) of each input partition: done when all are committed. */
  readonly ends: readonly number[]
  readonly options: DemoOptions
  readonly interrupt: Interrupt
}

/**
 * Runs the pipeline until every record is committed (or Ctrl-C, an error, a stall), then shuts it down.
 * Ctrl-C is expected to abort the source's `signal` as well (the caller's doing): the pipeline then drains.
 *
 * @example
 * const result = await runPipeline(source, producer, ledger, { input, output, ends, options, interrupt }, screen)
 * result.outcome // 'done'
 */
export async function runPipeline(
  source: OrderSource,
  producer: Producer,
  ledger: DemoLedger,
  context: PipelineContext,
  screen: DemoScreen,
): Promise<PipelineResult> {
  const { input, output, ends, options, interrupt } = context
  const started = Date.now()
  // Stopped while producing: nothing to consume, and the group should not even join.
  if (interrupt.requested) return { ms: 0, commits: 0, peakInFlight: 0, outcome: 'interrupted' }
  const committed = new Array<number>(options.partitions).fill(0)
  const allCommitted = (): boolean => ends.every((end, p) => committed[p]! >= end)
  let commits = 0
  let lastProgress = started

  // The library's own figures for the live display, as a service would read them (README: Live stats).
  const metrics = new PipelineMetrics()
  const pipeline = chargePipeline(source, producer, ledger, { output, options, metrics })

  let stats: PipelineStats | undefined
  const statsSubscription = pipelineStats(source, { interval: STATS_INTERVAL_MS, metrics }).subscribe(snapshot => (stats = snapshot))
  screen.say(`Consuming ${input} with kafka-rx (Ctrl-C stops gracefully)...`)
  screen.showStatus(() => pipelineFrame({ ...context, stats, ledger, committed, commits, started }))

  type Outcome = { kind: PipelineResult['outcome']; error?: unknown }
  let finish!: (outcome: Outcome) => void
  const finished = new Promise<Outcome>(resolve => (finish = resolve))
  // Ctrl-C aborted the source's signal (see demo.ts): the pipeline completes once the records in flight finished
  // and their final commit went out, or errors with a DrainTimeoutError.
  let drain: PipelineResult['drain']
  const subscription = pipeline.commits.subscribe({
    next: commit => {
      commits++
      lastProgress = Date.now()
      for (const o of commit.offsets) {
        if (o.topic === input) committed[o.partition] = Math.max(committed[o.partition]!, Number(o.offset))
      }
      if (allCommitted()) finish({ kind: 'done' })
    },
    error: error => {
      if (drain !== undefined && error instanceof DrainTimeoutError) drain = { ...drain, unfinished: error.unfinished }
      finish({ kind: interrupt.requested ? 'interrupted' : 'error', error })
    },
    complete: () => finish(interrupt.requested
      ? { kind: 'interrupted' }
      : { kind: 'error', error: new Error('the pipeline completed before every record was committed') }),
  })
  if (allCommitted()) finish({ kind: 'done' }) // nothing to consume
  interrupt.onRequest(() => {
    drain = { inFlight: source.tracker.inFlight, unfinished: 0 }
    screen.announce(`Draining: ${count(drain.inFlight)} records in flight.`)
  })
  let processedBefore = 0
  const watchdog = setInterval(() => {
    // Progress is a commit or a processed record (a slow --work-ms may hold commits back for a while).
    if (ledger.processed !== processedBefore) lastProgress = Date.now()
    processedBefore = ledger.processed
    if (Date.now() - lastProgress > STALL_MS) finish({ kind: 'stalled' })
  }, 1_000)

  const outcome = await finished
  clearInterval(watchdog)
  statsSubscription.unsubscribe()
  screen.endStatus({ final: true })
  const ms = Date.now() - started
  // Done or stalled: unsubscribing stops delivery; the source then commits what finished, stops and disconnects
  // the consumer. (After a drain the pipeline has ended already, and this does nothing.)
  subscription.unsubscribe()
  let error = outcome.error
  try {
    await source.closed()
  } catch (shutdownError) {
    error ??= shutdownError
  }
  if (outcome.kind === 'stalled') error ??= new Error(`no progress for ${STALL_MS / 1000} s with records left`)
  return { ms, commits, peakInFlight: pipeline.peakInFlight, outcome: outcome.kind, error, drain }
}
