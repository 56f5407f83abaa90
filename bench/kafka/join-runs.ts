/**
 * How the kafka suite runs the join case (join-case.ts) with `--join`: each client's runs in child processes,
 * and their summary in the report. The goal (issue 19) is for `@platformatic/kafka` with KIP-848; kafkajs,
 * which rebalances eagerly, runs the same case as the baseline.
 */
import { execFile } from 'node:child_process'
import * as path from 'node:path'
import { median, roundTo } from '../shared/measure'
import type { JoinResult, JoinSpec } from './join-case'

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
