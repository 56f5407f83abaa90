import { expect } from 'chai'
import fc from 'fast-check'
import type { JoinResult } from '../bench/kafka/join-case'
import { JOIN_TARGETS, summariseJoins } from '../bench/kafka/join-runs'

const run = fc.record({
  redelivered_stayed: fc.nat({ max: 5 }),
  window_vs_steady: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: null }),
}).map(({ redelivered_stayed, window_vs_steady }): JoinResult => ({
  client: 'platformatic', protocol: 'KIP-848 (consumer)', produced: 100, unfinished: 0, deliveries: 100, second_delivered: window_vs_steady !== null,
  window_ms: window_vs_steady === null ? null : 1_000, stayed_partitions: [0], moved_partitions: [1], redelivered_stayed, redelivered_moved: 0,
  steady_records_per_s: 100, window_records_per_s: window_vs_steady === null ? null : window_vs_steady * 100, window_vs_steady,
  stayed_longest_gap_ms: null, steady_longest_gap_ms: null,
}))

describe('bench kafka: the join runs\' summary', () => {
  // Met exactly when no run re-delivered a record on a partition that stayed and the median window/steady
  // ratio over the runs that had a window is >= 0.8. Catches: the best run's re-delivery reported (min for
  // max) and a run without a window counted as 0 (or as met); the next test catches a strict compare (> for >=).
  it('is met exactly when every run re-delivered nothing on the partitions that stayed and the median ratio reaches 0.8', () => {
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 7 }), (runs) => {
        const summary = summariseJoins(runs)
        const ratios = runs.map((r) => r.window_vs_steady).filter((v): v is number => v !== null).sort((a, b) => a - b)
        const mid = ratios.length === 0 ? null : ratios.length % 2 === 1 ? ratios[(ratios.length - 1) / 2]! : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2
        expect(summary.redelivered_stayed).to.equal(Math.max(...runs.map((r) => r.redelivered_stayed)))
        expect(summary.window_vs_steady).to.equal(mid === null ? null : Math.round(mid * 1000) / 1000)
        const met = runs.every((r) => r.redelivered_stayed === 0) && summary.window_vs_steady !== null && summary.window_vs_steady >= JOIN_TARGETS.window_vs_steady
        expect(summary.met).to.equal(met)
        expect(summary.runs).to.have.length(runs.length)
      }),
      { numRuns: 500 },
    )
  })

  it('meets the goal at exactly 0.8', () => {
    const [base] = fc.sample(run, { numRuns: 1, seed: 1 })
    expect(summariseJoins([{ ...base!, redelivered_stayed: 0, window_vs_steady: 0.8 }]).met).to.equal(true)
  })
})
