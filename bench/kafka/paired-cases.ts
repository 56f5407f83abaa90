/**
 * The kafka suite's paired cases: each client raw (no kafka-rx) and kafka-rx on it with no work, run in
 * rounds, back to back, so that each round yields every ratio between them (`noop_vs_raw` per client,
 * `platformatic_raw_vs_kafkajs_raw`) from runs a few seconds apart, and drift in the machine's speed falls on
 * both sides of a ratio alike.
 */
import type { CaseResult, NodeCaseName } from './cases'
import type { BenchClient } from './runtime'

/** One client's paired cases: its raw ceiling and, where kafka-rx runs on it, kafka-rx with no work. */
export interface ClientCases {
  client: BenchClient
  raw: NodeCaseName
  noop?: NodeCaseName
  /**
   * The no-op case again with fromKafka's `offsetMap` on, run right after (or, in a backward round, right
   * before) `noop`: `offset_map_cost` is its records/s over noop's in each round (issue 17).
   */
  offsetMapNoop?: NodeCaseName
}

/** The paired cases by client; the rounds, the ratios and the report follow from this table. */
export const CLIENT_CASES: readonly ClientCases[] = [
  { client: 'kafkajs', raw: 'raw_each_batch', noop: 'kafka_rx_noop', offsetMapNoop: 'kafka_rx_noop_offset_map' },
  { client: 'platformatic', raw: 'platformatic_raw', noop: 'kafka_rx_platformatic_noop' },
]

/** Every case of `clients`, in table order (each client's raw, no-op, then no-op with the offset map). */
export function pairedCaseNames(clients: readonly ClientCases[]): NodeCaseName[] {
  return clients.flatMap((c) => [c.raw, ...(c.noop === undefined ? [] : [c.noop]), ...(c.offsetMapNoop === undefined ? [] : [c.offsetMapNoop])])
}

/**
 * The order of round `round` (1-based): the cases forward in odd rounds, backward in even ones, so that over
 * any two consecutive rounds every case runs once before and once after every other (for two cases: raw
 * first, then no-op first, as the suite always paired them).
 *
 * @example
 * roundOrder(1, ['a', 'b', 'c']) // ['a', 'b', 'c']
 * roundOrder(2, ['a', 'b', 'c']) // ['c', 'b', 'a']
 */
export function roundOrder<T>(round: number, cases: readonly T[]): T[] {
  return round % 2 === 1 ? [...cases] : [...cases].reverse()
}

/** One round's results, by case. */
export type Round = Partial<Record<NodeCaseName, CaseResult>>

/**
 * Each round's `a` records/s over its `b` records/s to three decimals, in round order; rounds that lack either
 * (a skipped case) or measured no rate for `b` are left out.
 *
 * @example
 * roundRatios(rounds, 'kafka_rx_noop', 'raw_each_batch') // noop_vs_raw of each round
 */
export function roundRatios(rounds: readonly Round[], a: NodeCaseName, b: NodeCaseName): number[] {
  const ratios: number[] = []
  for (const round of rounds) {
    const top = round[a]?.records_per_s
    const bottom = round[b]?.records_per_s
    if (top === undefined || bottom === undefined || !(bottom > 0)) continue
    ratios.push(Math.round((top / bottom) * 1000) / 1000)
  }
  return ratios
}
