import { expect } from 'chai'
import fc from 'fast-check'
import type { CaseResult, NodeCaseName } from '../bench/kafka/cases'
import { CLIENT_CASES, pairedCaseNames, roundOrder, roundRatios, type Round } from '../bench/kafka/paired-cases'
import { clientSkipReason } from '../bench/kafka/runtime'

const result = (records_per_s: number): CaseResult => ({
  name: 'x', records: 1, ms: 1, records_per_s, cpu_us_per_record: 1, each_batch_us_per_record: null, peak_rss_mib: 1,
  bytes_per_record: null, fetched_mib: null, sampled: false, closed: true, lag: 0,
})

describe('bench kafka: paired cases', () => {
  // Catches: a round order that is not a permutation (a case dropped or run twice), and an order that does not
  // turn around every round (e.g. always forward: the first case would always run on the cooler machine).
  it('over any two consecutive rounds, every case runs once before and once after every other', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 1000 }), (cases, round) => {
        const first = roundOrder(round, cases)
        const second = roundOrder(round + 1, cases)
        expect([...first].sort()).to.deep.equal([...cases].sort())
        expect([...second].sort()).to.deep.equal([...cases].sort())
        for (const a of cases) {
          for (const b of cases) {
            if (a === b) continue
            const before = Number(first.indexOf(a) < first.indexOf(b)) + Number(second.indexOf(a) < second.indexOf(b))
            expect(before, `${a} before ${b}`).to.equal(1)
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it('keeps the suite\'s old raw/no-op pairing: raw first in odd rounds, no-op first in even ones', () => {
    expect(roundOrder(1, ['raw_each_batch', 'kafka_rx_noop'])).to.deep.equal(['raw_each_batch', 'kafka_rx_noop'])
    expect(roundOrder(2, ['raw_each_batch', 'kafka_rx_noop'])).to.deep.equal(['kafka_rx_noop', 'raw_each_batch'])
  })

  // Catches: a ratio taken across rounds (round i's a over round j's b), a skipped round counted as 0 or
  // Infinity, and the ratio upside down.
  it('ratios pair each round with itself, and leave out rounds that lack a side', () => {
    const a: NodeCaseName = 'platformatic_raw'
    const b: NodeCaseName = 'raw_each_batch'
    const side = fc.option(fc.double({ min: 1, max: 1e6, noNaN: true }), { nil: undefined })
    fc.assert(
      fc.property(fc.array(fc.record({ top: side, bottom: side }), { maxLength: 12 }), (pairs) => {
        const rounds: Round[] = pairs.map(({ top, bottom }) => ({
          ...(top === undefined ? {} : { [a]: result(top) }), ...(bottom === undefined ? {} : { [b]: result(bottom) }),
        }))
        const expected = pairs.filter((p) => p.top !== undefined && p.bottom !== undefined).map((p) => Math.round((p.top! / p.bottom!) * 1000) / 1000)
        expect(roundRatios(rounds, a, b)).to.deep.equal(expected)
      }),
      { numRuns: 300 },
    )
  })

  // offset_map_cost pairs kafka_rx_noop_offset_map with kafka_rx_noop run back to back. Catches: the
  // offset-map case listed anywhere but beside the no-op case (e.g. after the other clients' cases).
  it('runs the no-op case and the same with the offset map next to each other in every round', () => {
    const names = pairedCaseNames(CLIENT_CASES)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (round) => {
        const order = roundOrder(round, names)
        expect(Math.abs(order.indexOf('kafka_rx_noop') - order.indexOf('kafka_rx_noop_offset_map'))).to.equal(1)
        // noop_vs_raw's pair stays back to back too.
        expect(Math.abs(order.indexOf('kafka_rx_noop') - order.indexOf('raw_each_batch'))).to.equal(1)
      }),
      { numRuns: 300 },
    )
  })

  it('lists every client\'s raw case and its kafka-rx case', () => {
    expect(pairedCaseNames(CLIENT_CASES)).to.include.members(['raw_each_batch', 'kafka_rx_noop', 'kafka_rx_noop_offset_map', 'platformatic_raw', 'kafka_rx_platformatic_noop'])
  })

  // Catches: a version compare on the major alone (22.0 let through) or on strings ('100' < '22').
  it('skips the platformatic cases below Node 22.22 only, with the reason', () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.nat({ max: 99 }), fc.nat({ max: 99 }), (major, minor, patch) => {
        const reason = clientSkipReason('platformatic', `${major}.${minor}.${patch}`)
        const runs = major > 22 || (major === 22 && minor >= 22)
        expect(reason === undefined, `${major}.${minor}.${patch}: ${String(reason)}`).to.equal(runs)
        if (!runs) expect(reason).to.include('Node >= 22.22').and.include(`${major}.${minor}.${patch}`)
        expect(clientSkipReason('kafkajs', `${major}.${minor}.${patch}`)).to.equal(undefined)
      }),
      { numRuns: 500 },
    )
  })
})
