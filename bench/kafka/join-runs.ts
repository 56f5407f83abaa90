/**
 * How the kafka suite runs the join case (join-case.ts) with `--join`: each client's runs in child processes,
 * and their summary in the report. The goal (issue 19) is for `@platformatic/kafka` with KIP-848; kafkajs,
 * which rebalances eagerly, runs the same case as the baseline.
 */
import { execFile } from 'node:child_process'
import * as path from 'node:path'
import { median, roundTo } from '../shared/measure'
import type { JoinResult, JoinSpec } from './join-case'
import { clientSkipReason, type BenchClient } from './runtime'

/** The goal of issue 19 on the partitions that stayed with the first member. */
export const JOIN_TARGETS = { redelivered_stayed: 0, window_vs_steady: 0.8 } as const

/** One client's join runs, summarised. */
export interface JoinSummary {
  protocol: JoinResult['protocol']
  /** The most re-delivered on the partitions that stayed, over the runs (the goal: 0 in every run). */
  redelivered_stayed: number
  /** The median over the runs that had a window (null when none had: the second member never delivered). */
  window_vs_steady: number | null
  window_ms: number | null
  /** Whether this summary meets both goals (JOIN_TARGETS). */
  met: boolean
  runs: JoinResult[]
}

/**
 * Summarises one client's runs: the worst re-delivery, the median throughput ratio and window.
 *
 * @example
 * summariseJoins([run1, run2]).window_vs_steady // the median of the two runs' ratios
 */
export function summariseJoins(runs: readonly JoinResult[]): JoinSummary {
  const ratios = runs.map((r) => r.window_vs_steady).filter((v): v is number => v !== null)
  const windows = runs.map((r) => r.window_ms).filter((v): v is number => v !== null)
  const redelivered = Math.max(...runs.map((r) => r.redelivered_stayed))
  const ratio = ratios.length === 0 ? null : roundTo(median(ratios), 3)
  return {
    protocol: runs[0]!.protocol,
    redelivered_stayed: redelivered,
    window_vs_steady: ratio,
    window_ms: windows.length === 0 ? null : roundTo(median(windows), 1),
    met: redelivered <= JOIN_TARGETS.redelivered_stayed && ratio !== null && ratio >= JOIN_TARGETS.window_vs_steady,
    runs: [...runs],
  }
}

/** Runs one join in a child process (`cpuProf`: it writes a .cpuprofile) and resolves with its result. */
export function runJoinChild(spec: JoinSpec, cpuProf: boolean): Promise<JoinResult> {
  const script = path.join(__dirname, 'join-case.js')
  const flags = cpuProf ? ['--cpu-prof', `--cpu-prof-name=kafka-join-${spec.client}-${Date.now()}.cpuprofile`] : []
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...flags, script, JSON.stringify(spec)], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`join case (${spec.client}) failed: ${error.message}\n${stderr}`))
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as JoinResult)
      } catch {
        reject(new Error(`join case (${spec.client}) printed no result:\n${stdout}\n${stderr}`))
      }
    })
  })
}

/** What the suite passes on to the join runs: a JoinSpec without the client, how many runs, --cpu-prof. */
export interface JoinOptions extends Omit<JoinSpec, 'client' | 'timeoutMs'> {
  reps: number
  cpuProf: boolean
}

/**
 * Runs `o.reps` joins per client in turn, kafkajs then platformatic, each on a topic of its own
 * (`<topic>-join-<client>-<rep>`), and summarises each client's runs. A client this Node cannot run is
 * left out, with its reason in `skipped` (as `join_<client>`).
 *
 * @example
 * const joins = await runJoins({ brokers, topic, partitions: 6, ratePerS: 600, workMs: 2, steadyMs: 5_000, afterMs: 5_000, reps: 3, cpuProf: false }, skipped, log)
 */
export async function runJoins(o: JoinOptions, skipped: Record<string, string>, log: (line: string) => void): Promise<Partial<Record<BenchClient, JoinSummary>>> {
  const joins: Partial<Record<BenchClient, JoinSummary>> = {}
  const { reps, cpuProf, ...spec } = o
  for (const client of ['kafkajs', 'platformatic'] as const) {
    const reason = clientSkipReason(client)
    if (reason !== undefined) {
      skipped[`join_${client}`] = reason
      log(`  skipped join ${client}: ${reason}`)
      continue
    }
    const results: JoinResult[] = []
    for (let rep = 1; rep <= reps; rep++) {
      const timeoutMs = 120_000 + o.steadyMs + o.afterMs
      const result = await runJoinChild({ ...spec, client, topic: `${o.topic}-join-${client}-${rep}`, timeoutMs }, cpuProf)
      log(`  join ${rep} ${client.padEnd(12)} ${describeJoin(result)}`)
      results.push(result)
    }
    joins[client] = summariseJoins(results)
  }
  return joins
}

function describeJoin(r: JoinResult): string {
  return `${r.protocol}: stayed [${r.stayed_partitions.join(',')}] moved [${r.moved_partitions.join(',')}], window ${r.window_ms ?? '-'} ms, re-delivered ${r.redelivered_stayed} on stayed / ${r.redelivered_moved} on moved, ${r.window_records_per_s ?? '-'} records/s in the window vs ${r.steady_records_per_s} steady (${r.window_vs_steady ?? '-'}), longest stop of the stayed ${r.stayed_longest_gap_ms ?? '-'} ms after the join vs ${r.steady_longest_gap_ms ?? '-'} ms steady, ${r.produced} produced, ${r.unfinished} unfinished`
}
