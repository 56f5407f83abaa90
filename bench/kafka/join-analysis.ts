/**
 * The figures of the mid-stream join measure (join-case.ts), from its log of deliveries: which partitions
 * stayed with the first member, how many records were delivered again, and the first member's throughput on
 * the partitions that stayed during the rebalance window over its steady rate before it.
 *
 * Definitions (BENCHMARKS.md repeats them beside the figures):
 * - join: the moment the second member's pipeline is subscribed (it then connects and asks to join).
 * - rebalance window: from the join to the first record the second member delivers.
 * - a partition stayed with the first member when the second member delivered none of its records.
 * - re-delivered: deliveries (the project function starting) of a record beyond its first, by either member.
 * - throughput: records finished for the first time (a re-delivered record's second run is not progress),
 *   by the first member, on the partitions that stayed; steady rate over the `steadyMs` before the join.
 * - longest gap: the longest span without such a finish, after the join (from the join itself to the last
 *   finish) and, for comparison, within the steady span: a stop of the partitions that stayed (an eager
 *   rebalance's rejoin) shows here even when the window's rate hides it (a short stop, caught up in the window).
 */

/** One delivery of one record to the work: who ran it, when it started and (if it did) finished, in ms. */
export interface Delivery {
  member: 1 | 2
  partition: number
  offset: number
  started: number
  finished?: number
}

/** What analyseJoin reports. */
export interface JoinFigures {
  /** The rebalance window in ms (null when the second member delivered nothing). */
  window_ms: number | null
  stayed_partitions: number[]
  moved_partitions: number[]
  /** Deliveries beyond each record's first, on the partitions that stayed (the goal with KIP-848: 0). */
  redelivered_stayed: number
  /** The same on the partitions that moved to the second member (records in flight when they were revoked). */
  redelivered_moved: number
  /** The first member's first finishes per second on the partitions that stayed, over `steadyMs` before the join. */
  steady_records_per_s: number
  /** The same within the rebalance window (null without a window). */
  window_records_per_s: number | null
  /** window_records_per_s / steady_records_per_s (the goal with KIP-848: >= 0.8; null without either). */
  window_vs_steady: number | null
  /** The longest span in ms without a first finish on the partitions that stayed, from the join on (null: none after it). */
  stayed_longest_gap_ms: number | null
  /** The same within the steady span, between finishes (null: fewer than two). */
  steady_longest_gap_ms: number | null
}

/**
 * Computes the figures of one join run.
 *
 * @example
 * analyseJoin(deliveries, { join: 4_210.5, steadyMs: 3_000 }).redelivered_stayed
 */
export function analyseJoin(deliveries: readonly Delivery[], at: { join: number; steadyMs: number }): JoinFigures {
  const byMember = [new Set<number>(), new Set<number>()] as const
  let secondFirst = Infinity
  for (const d of deliveries) {
    byMember[d.member - 1].add(d.partition)
    if (d.member === 2) secondFirst = Math.min(secondFirst, d.started)
  }
  const all = [...new Set([...byMember[0], ...byMember[1]])].sort((a, b) => a - b)
  const stayed = all.filter((p) => !byMember[1].has(p))
  const stayedSet = new Set(stayed)

  // Deliveries and the first finish of each record (partition, offset).
  const seen = new Set<string>()
  const firstFinish = new Map<string, Delivery>()
  let redeliveredStayed = 0
  let redeliveredMoved = 0
  for (const d of deliveries) {
    const id = `${d.partition}:${d.offset}`
    if (seen.has(id)) {
      if (stayedSet.has(d.partition)) redeliveredStayed++
      else redeliveredMoved++
    }
    seen.add(id)
    if (d.finished === undefined) continue
    const first = firstFinish.get(id)
    if (first === undefined || d.finished < first.finished!) firstFinish.set(id, d)
  }
  const window = secondFirst === Infinity ? null : Math.max(0, secondFirst - at.join)
  let steady = 0
  let inWindow = 0
  const steadyTimes: number[] = []
  const afterTimes: number[] = [at.join]
  for (const d of firstFinish.values()) {
    // Only the first member delivers on the partitions that stayed (that is what stayed means).
    if (!stayedSet.has(d.partition)) continue
    const t = d.finished!
    if (t >= at.join - at.steadyMs && t < at.join) {
      steady++
      steadyTimes.push(t)
    } else if (t >= at.join && t < secondFirst) inWindow++
    if (t >= at.join) afterTimes.push(t)
  }
  const steadyRate = at.steadyMs > 0 ? (steady * 1000) / at.steadyMs : 0
  const windowRate = window === null || window === 0 ? null : (inWindow * 1000) / window
  return {
    window_ms: window === null ? null : round(window, 1),
    stayed_partitions: stayed,
    moved_partitions: all.filter((p) => byMember[1].has(p)),
    redelivered_stayed: redeliveredStayed,
    redelivered_moved: redeliveredMoved,
    steady_records_per_s: round(steadyRate, 1),
    window_records_per_s: windowRate === null ? null : round(windowRate, 1),
    window_vs_steady: windowRate === null || steadyRate === 0 ? null : round(windowRate / steadyRate, 3),
    stayed_longest_gap_ms: afterTimes.length < 2 ? null : round(longestGap(afterTimes), 1),
    steady_longest_gap_ms: steadyTimes.length < 2 ? null : round(longestGap(steadyTimes), 1),
  }
}

/** The largest difference between neighbours of `times` once sorted (at least two). */
function longestGap(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let gap = 0
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i]! - sorted[i - 1]!)
  return gap
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
