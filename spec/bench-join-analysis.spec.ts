import { expect } from 'chai'
import fc from 'fast-check'
import { analyseJoin, type Delivery } from '../bench/kafka/join-analysis'

const JOIN = 5_000
const STEADY_MS = 2_000

// Records delivered once each: partition 0..7, unique offsets, started and finished somewhere in 0..10 s; the
// partitions in `moved` get their records after the join delivered by member 2 instead.
const run = fc
  .record({
    records: fc.uniqueArray(
      fc.record({ partition: fc.integer({ min: 0, max: 7 }), offset: fc.nat({ max: 60 }), started: fc.integer({ min: 0, max: 10_000 }), took: fc.integer({ min: 0, max: 50 }) }),
      { selector: (r) => `${r.partition}:${r.offset}`, minLength: 1, maxLength: 120 },
    ),
    moved: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 4 }),
  })
  .map(({ records, moved }) =>
    records.map((r): Delivery => ({
      member: moved.includes(r.partition) && r.started >= JOIN ? 2 : 1, partition: r.partition, offset: r.offset, started: r.started, finished: r.started + r.took,
    })),
  )

describe('bench kafka: the mid-stream join figures', () => {
  // Catches: re-deliveries counted on every partition (the moved ones' redo charged to the ones that stayed),
  // or every delivery counted rather than those beyond a record's first.
  it('counts, on the partitions that stayed, exactly the deliveries beyond each record\'s first', () => {
    fc.assert(
      fc.property(run, fc.array(fc.nat(), { maxLength: 30 }), (once, picks) => {
        const again = picks.map((i) => ({ ...once[i % once.length]!, member: 1 as const, started: 9_000, finished: 9_010 }))
        const figures = analyseJoin([...once, ...again], { join: JOIN, steadyMs: STEADY_MS })
        const stayed = new Set(figures.stayed_partitions)
        expect(figures.redelivered_stayed).to.equal(again.filter((d) => stayed.has(d.partition)).length)
        expect(figures.redelivered_moved).to.equal(again.filter((d) => !stayed.has(d.partition)).length)
      }),
      { numRuns: 400 },
    )
  })

  // Catches: a partition counted as stayed although the second member took it, or one left out of both lists.
  it('a partition stayed exactly when the second member delivered none of its records', () => {
    fc.assert(
      fc.property(run, (deliveries) => {
        const figures = analyseJoin(deliveries, { join: JOIN, steadyMs: STEADY_MS })
        const taken = new Set(deliveries.filter((d) => d.member === 2).map((d) => d.partition))
        const all = [...new Set(deliveries.map((d) => d.partition))].sort((a, b) => a - b)
        expect(figures.moved_partitions).to.deep.equal(all.filter((p) => taken.has(p)))
        expect(figures.stayed_partitions).to.deep.equal(all.filter((p) => !taken.has(p)))
      }),
      { numRuns: 400 },
    )
  })

  // Catches: every finish counted as throughput (a redo would look like progress), or the second member's and
  // the moved partitions' work counted in the first member's rate on the partitions that stayed.
  it('the rates count only the first member\'s first finishes on the partitions that stayed', () => {
    fc.assert(
      fc.property(run, fc.array(fc.nat(), { maxLength: 30 }), fc.integer({ min: 0, max: 10_000 }), (once, picks, t) => {
        const before = analyseJoin(once, { join: JOIN, steadyMs: STEADY_MS })
        // Re-deliveries finishing later than the first run, anywhere in time, and more work on a moved partition.
        const again = picks.map((i) => {
          const d = once[i % once.length]!
          return { ...d, started: d.finished! + 1 + (t % 100), finished: d.finished! + 2 + (t % 100) }
        })
        // Work of either member on a moved partition (the first member held it until the rebalance), at any time.
        const moved = before.moved_partitions.flatMap((partition, i): Delivery[] => [
          { member: 2, partition, offset: 1_000 + i, started: t, finished: t },
          { member: 1, partition, offset: 2_000 + i, started: t % JOIN, finished: (t % JOIN) + 1 },
        ])
        const after = analyseJoin([...once, ...again, ...moved], { join: JOIN, steadyMs: STEADY_MS })
        expect(after.steady_records_per_s).to.equal(before.steady_records_per_s)
        if (after.window_ms === before.window_ms) expect(after.window_records_per_s).to.equal(before.window_records_per_s)
      }),
      { numRuns: 400 },
    )
  })

  // Catches: a window measured from the wrong end (the first member's deliveries, or the end of the run), and
  // a rate over the wrong span.
  it('the window runs from the join to the second member\'s first delivery; a steady pace gives a ratio of 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 3_000 }), (perSecond, window) => {
        // Partition 0 stays and finishes `perSecond` records a second, evenly, from 0 until well after the window.
        const gap = 1000 / perSecond
        const deliveries: Delivery[] = []
        for (let i = 0; (i + 0.5) * gap < JOIN + window + 2_000; i++) deliveries.push({ member: 1, partition: 0, offset: i, started: (i + 0.5) * gap, finished: (i + 0.5) * gap })
        deliveries.push({ member: 2, partition: 1, offset: 0, started: JOIN + window, finished: JOIN + window })
        const figures = analyseJoin(deliveries, { join: JOIN, steadyMs: STEADY_MS })
        expect(figures.window_ms).to.equal(window)
        expect(figures.steady_records_per_s).to.be.closeTo(perSecond, 1000 / STEADY_MS)
        expect(figures.window_records_per_s!).to.be.closeTo(perSecond, 1000 / window)
        // A member that stops for the whole window has a ratio of 0.
        const stopped = deliveries.filter((d) => d.member === 2 || d.finished! < JOIN || d.finished! >= JOIN + window)
        expect(analyseJoin(stopped, { join: JOIN, steadyMs: STEADY_MS }).window_vs_steady).to.equal(0)
      }),
      { numRuns: 300 },
    )
  })

  // Catches: a gap measured over every partition (the moved ones' work would fill the stayed ones' stop), the
  // steady span's gap mixed with the one after the join, and a gap that leaves out the stretch from the join
  // to the first finish after it.
  it('the longest gap after the join is the longest stop of the partitions that stayed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_000 }), fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 1 }), (stop, from, firstAt) => {
        // Partition 0 stays: a finish every 10 ms from 0 to JOIN + 4 s, except a stop of `stop` ms starting
        // `from` ms after the join (or, with firstAt, right at the join). Partition 1 moves, its work goes on.
        const start = JOIN + (firstAt === 1 ? 0 : from)
        const deliveries: Delivery[] = []
        for (let t = 5, i = 0; t < JOIN + 4_000 + stop; t += 10, i++) {
          deliveries.push({ member: t < JOIN ? 1 : 2, partition: 1, offset: i, started: t, finished: t })
          if (t > start && t < start + stop) continue
          deliveries.push({ member: 1, partition: 0, offset: i, started: t, finished: t })
        }
        const figures = analyseJoin(deliveries, { join: JOIN, steadyMs: STEADY_MS })
        expect(figures.steady_longest_gap_ms).to.equal(10)
        // The stop spans the finishes skipped in (start, start + stop), plus up to 10 ms at either end.
        const expected = Math.max(10, stop)
        expect(figures.stayed_longest_gap_ms!).to.be.within(expected - 0.001, expected + 20)
      }),
      { numRuns: 300 },
    )
  })

  it('reports no window when the second member delivered nothing', () => {
    const figures = analyseJoin([{ member: 1, partition: 0, offset: 0, started: 10, finished: 11 }], { join: JOIN, steadyMs: STEADY_MS })
    expect(figures.window_ms).to.equal(null)
    expect(figures.window_vs_steady).to.equal(null)
  })
})
