/**
 * What the demo shows: the live status of the pipeline and the self-checking summary.
 */
import type { PipelineStats } from '../lib/stats/sampler'
import type { DemoOptions } from './demo-args'
import { bar, count, duration, table, type StatusFrame } from './demo-display'
import type { DemoLedger } from './demo-ledger'
import type { KafkaLogs } from './demo-process'
import type { ProducedWorkload } from './demo-workload'

const TABLE_ROWS = 12

/** How the pipeline run went. */
export interface PipelineResult {
  readonly ms: number
  readonly commits: number
  readonly peakInFlight: number
  readonly outcome: 'done' | 'interrupted' | 'stalled' | 'error'
  readonly error?: unknown
  /** After Ctrl-C: records in flight when the source was aborted, and those still unfinished at the drain timeout. */
  readonly drain?: { readonly inFlight: number; readonly unfinished: number }
}

/** What the live status of the pipeline shows. */
export interface PipelineView {
  readonly input: string
  readonly output: string
  /** End offset (high watermark) of each input partition. */
  readonly ends: readonly number[]
  readonly options: DemoOptions
  /**
   * The library's latest `pipelineStats` snapshot (undefined before the first): rate, in flight, keys, and
   * per partition the high watermark, in flight and oldest age, as a service would show them.
   */
  readonly stats: PipelineStats | undefined
  readonly ledger: DemoLedger
  /** Committed offset of each input partition, as acknowledged commits report it: progress against the workload. */
  readonly committed: readonly number[]
  readonly commits: number
  /** When the pipeline started (ms since the epoch). */
  readonly started: number
}

/**
 * One frame of the live status: progress bar, rates, where the records in flight are, and a table of the
 * (at most 12 most lagging) partitions; plus its one-line form. The live figures are the library's
 * (`pipelineStats`); progress is counted against the produced workload, and the stages after the per-key
 * one come from the demo's ledger.
 *
 * ```text
 * ████████░░░░  61.2%  122,400 / 200,000 committed · 0:41
 * processed 123,950 · 3,120 rec/s · active keys 412 · commits 40
 * in flight 1,550 / 10,000: running 256 / 256 · queued behind their key 780 · waiting for partition order 390 · forwarding 124
 * ```
 *
 * @example
 * new LiveStatus(process.stdout, () => pipelineFrame({ input, output, ends, options, stats, ledger, committed, commits, started }))
 */
export function pipelineFrame(view: PipelineView): StatusFrame {
  const { options, ends, committed, ledger, stats } = view
  const now = Date.now()
  const total = sum(ends)
  const done = ends.reduce((acc, end, p) => acc + Math.min(end, committed[p]!), 0)
  const f = total === 0 ? 1 : done / total
  const partitions = new Map((stats?.partitions ?? []).filter(p => p.topic === view.input).map(p => [p.partition, p]))
  // The high watermark the library saw at its last fetch (the workload's end before one) minus the latest
  // acknowledged commit: a snapshot's own lag may predate the commit that finished the run.
  const lag = ends.map((end, p) => {
    const highWatermark = partitions.get(p)?.highWatermark
    return Math.max(0, (highWatermark === undefined ? end : Number(highWatermark)) - committed[p]!)
  })
  const elapsed = duration(now - view.started)

  // The partitions lagging most (all of them when there are few), shown in partition order.
  const shown = ends.map((_, p) => p).sort((a, b) => lag[b]! - lag[a]! || a - b).slice(0, TABLE_ROWS).sort((a, b) => a - b)
  const rows = shown.map(p => {
    const ps = partitions.get(p)
    const age = ps?.oldestUnfinishedAgeMs
    return [
      String(p), count(committed[p]!), count(lag[p]!), count(ps?.inFlight ?? 0),
      age === undefined ? '-' : duration(age), bar(ends[p]! === 0 ? 1 : committed[p]! / ends[p]!, 16),
    ]
  })
  const { reordering, forwarding } = ledger.stages
  const n = (x: number | undefined): string => (x === undefined ? '-' : count(x))
  // Once everything is committed, the average says more than the last interval.
  const perSecond = done === total ? (ledger.processed * 1000) / Math.max(1, now - view.started) : (stats?.finishedPerSecond ?? 0)
  const paused = stats?.partitions.some(p => p.paused) === true ? ' · fetching paused (in-flight budget used)' : ''
  const line = `processed ${count(ledger.processed)} · ${count(perSecond)} rec/s · active keys ${n(stats?.activeKeys)} · commits ${count(view.commits)}`
  const inFlight = `in flight ${n(stats?.inFlight)} / ${count(options.maxInFlight)}: running ${n(stats?.running)} / ${count(options.concurrency)}` +
    ` · queued behind their key ${n(stats?.queued)} · waiting for partition order ${count(reordering)} · forwarding ${count(forwarding)}${paused}`
  const worst = lag.reduce((w, l, p) => (l > lag[w]! ? p : w), 0)
  return {
    lines: [
      `kafka-rx demo · ${view.input} → ${view.output} · ${options.partitions} partitions · ${count(options.keys)} customers · work ~${options.workMs} ms`,
      `${bar(f, 40)} ${(100 * f).toFixed(1).padStart(5)}%  ${count(done)} / ${count(total)} committed · ${elapsed}`,
      line,
      inFlight,
      '',
      ...table(['partition', 'committed', 'lag', 'in flight', 'oldest', 'progress'.padEnd(18)], rows),
      ...(ends.length > shown.length ? [`(${ends.length - shown.length} more partitions, lagging less)`] : []),
    ],
    compact: `[${elapsed}] committed ${count(done)} / ${count(total)} (${(100 * f).toFixed(1)}%) · processed ${count(ledger.processed)}` +
      ` · ${count(perSecond)} rec/s · in flight ${n(stats?.inFlight)} (running ${n(stats?.running)}, queued ${n(stats?.queued)},` +
      ` reordering ${count(reordering)}, forwarding ${count(forwarding)}) · active keys ${n(stats?.activeKeys)} · max lag ${count(lag[worst] ?? 0)} (p${worst})`,
  }
}

/** Everything the summary reports. */
export interface SummaryFacts {
  readonly ledger: DemoLedger
  readonly workload: ProducedWorkload
  readonly options: DemoOptions
  readonly result: PipelineResult
  /** End offsets minus committed offsets of the input topic, read back from the broker. */
  readonly finalLag: number
  /** Records below a committed offset that never left the forward step (must be 0). */
  readonly committedUnforwarded: number
  /** Records in the output topic (its end offsets). */
  readonly outputRecords: number
  readonly output: string
  readonly commitIntervalMs: number
  readonly kafkaLogs: KafkaLogs
  readonly wallMs: number
}

/**
 * Prints the summary table, each check marked ✓ or ✗ (unmarked rows are facts, not checks; after a Ctrl-C,
 * lost and lag are expected and unmarked too). The caller prints the one-line result after it.
 *
 * @example
 * printSummary(process.stdout, { ledger, workload, options, result, finalLag, committedUnforwarded, ... })
 */
export function printSummary(out: NodeJS.WritableStream, s: SummaryFacts): void {
  const say = (line = ''): void => void out.write(line + '\n')
  const { ledger, workload, options, result } = s
  const mark = (good: boolean): string => (good ? '✓' : '✗')
  const row = (check: string, label: string, value: string, note: string): string =>
    `  ${check} ${label.padEnd(26)}${value.padStart(9)}  ${note}`
  say()
  say(`Summary: ${result.outcome}, pipeline ${duration(result.ms)} (${count((ledger.processed * 1000) / Math.max(1, result.ms))} records/s), wall time ${duration(s.wallMs)}`)
  say(row(' ', 'produced', count(workload.records), `orders, ${count(options.keys)} customers, ${options.partitions} partitions`))
  say(row(' ', 'processed', count(ledger.processed), 'orders whose work completed'))
  say(row(' ', 'forwarded', count(ledger.forwardedCount), `charges acknowledged (${s.output} holds ${count(s.outputRecords)} records)`))
  // Stopped early, unprocessed records are not lost as long as they are not committed: a restart reads them.
  const stoppedEarly = result.outcome === 'interrupted'
  say(row(stoppedEarly ? ' ' : mark(ledger.lost === 0), 'lost', count(ledger.lost),
    stoppedEarly ? 'not processed and forwarded before the stop' : 'produced but never processed and forwarded'))
  say(row(mark(s.committedUnforwarded === 0), 'committed, not forwarded', count(s.committedUnforwarded),
    'records below a committed offset whose output never was acknowledged'))
  say(row(' ', 'duplicates', count(ledger.duplicates), 'work runs of an order already started (at-least-once)'))
  say(row(mark(ledger.keyOrderViolations === 0), 'key-order violations', count(ledger.keyOrderViolations), 'per customer: started out of production order, or overlapping'))
  say(row(mark(ledger.partitionOrderViolations === 0), 'partition-order violations', count(ledger.partitionOrderViolations), 'output acknowledged out of offset order'))
  say(row(stoppedEarly ? ' ' : mark(s.finalLag === 0), 'final lag', count(s.finalLag),
    stoppedEarly ? 'uncommitted: the next run of the group starts there' : 'end offsets minus committed offsets, read back from the broker'))
  say(row(mark(ledger.maxRunning <= options.concurrency), 'most work at once', count(ledger.maxRunning), `limit ${count(options.concurrency)}`))
  say(row(mark(result.peakInFlight <= options.maxInFlight), 'most records in flight', count(result.peakInFlight), `limit ${count(options.maxInFlight)}`))
  say(row(' ', 'commits', count(result.commits), `every ${s.commitIntervalMs / 1000} s at most, gap-safe`))
  if (result.drain !== undefined) {
    const { inFlight, unfinished } = result.drain
    say(row(' ', 'in flight at the stop', count(inFlight), unfinished === 0
      ? 'drained: all finished, forwarded and committed before disconnecting'
      : `drain timed out with ${count(unfinished)} unfinished (committed up to them; read again next run)`))
  }
  if (ledger.unexpected > 0) say(row('✗', 'unexpected records', count(ledger.unexpected), 'not decodable or not from this run'))
  if (s.kafkaLogs.count > 0) {
    say(`  kafkajs logged ${s.kafkaLogs.count} error(s); the last:`)
    for (const line of s.kafkaLogs.last) say(`    ${line}`)
  }
  if (result.error !== undefined) say(`  error: ${(result.error as Error)?.message ?? String(result.error)}`)
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
