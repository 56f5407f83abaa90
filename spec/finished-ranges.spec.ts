import { expect } from 'chai'
import fc from 'fast-check'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { SkipSet } from '../lib/source/finished-skips'
import { decodeOffsetMap, encodeOffsetMap } from '../lib/tracker/offset-map'

const origin = (offset: number, seq: number) => ({ topic: 't', partition: 0, offset: String(offset), seq, epoch: 1 })

function offsetsOf(ranges: readonly number[]): number[] {
  const out: number[] = []
  for (let i = 0; i < ranges.length; i += 2) for (let o = ranges[i]!; o < ranges[i + 1]!; o++) out.push(o)
  return out
}

// Records at increasing offsets with gaps (compaction), some advance() positions, some finished in any order.
const scenario = fc.record({
  start: fc.integer({ min: 0, max: 50 }),
  steps: fc.array(fc.record({ gap: fc.integer({ min: 1, max: 3 }), advance: fc.integer({ min: 0, max: 2 }) }), { maxLength: 80 }),
  finished: fc.array(fc.boolean(), { maxLength: 80 }),
  from: fc.integer({ min: 0, max: 30 }),
})

describe('finished ranges (what the offset map names)', () => {
  // For any deliveries, gaps, advances and finishes: the ranges hold every finished offset at or above the
  // committable offset, and no delivered record that is unfinished.
  // Catches (seen failing): a range taken for an unfinished record (done flag not checked), the last
  // delivered record left out of the scan (a finished record run again).
  it('names every finished offset above the watermark and never an unfinished record', () => {
    fc.assert(
      fc.property(scenario, ({ start, steps, finished, from }) => {
        const tracker = new OffsetTracker({ mapFinished: true })
        const records: { offset: number; seq: number }[] = []
        let offset = start
        for (const [seq, step] of steps.entries()) {
          tracker.deliver(origin(offset, seq))
          records.push({ offset, seq })
          if (step.advance > 0) tracker.advance('t', 0, 1, String(offset + 1 + step.advance))
          offset += step.gap + step.advance
        }
        const done = records.filter((_, i) => finished[i] === true)
        for (const r of done) tracker.finish(origin(r.offset, r.seq))
        const base = Number(tracker.committable()[0]?.offset ?? tracker.partitions()[0]?.committed ?? from)
        const named = new Set(offsetsOf(tracker.finishedAbove('t', 0, 1, base)))
        for (const r of records) {
          const isDone = finished[records.indexOf(r)] === true
          if (!isDone) expect(named.has(r.offset), `unfinished ${r.offset} named`).to.equal(false)
          else if (r.offset >= base) expect(named.has(r.offset), `finished ${r.offset} missing`).to.equal(true)
        }
        // And through the encoding, within any budget: still no unfinished record.
        const decoded = decodeOffsetMap(encodeOffsetMap(base, tracker.finishedAbove('t', 0, 1, base), 64).metadata, String(base))
        for (const o of offsetsOf(decoded)) {
          const r = records.find((x) => x.offset === o)
          if (r !== undefined) expect(finished[records.indexOf(r)], `unfinished ${o} decoded`).to.equal(true)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('offers the committed offset again only when records finished above it since the last map', () => {
    const tracker = new OffsetTracker({ mapFinished: true })
    for (let seq = 0; seq < 3; seq++) tracker.deliver(origin(10 + seq, seq))
    tracker.finish(origin(11, 1))
    // No acknowledged commit in the epoch yet: a map needs a committed base, so nothing is offered.
    expect(tracker.committable()).to.deep.equal([])
    // The source commits each assignment's start position first (start-commits.ts) and reports it.
    tracker.committed([{ topic: 't', partition: 0, offset: '10', epoch: 1 }])
    expect(tracker.committable()).to.deep.equal([{ topic: 't', partition: 0, offset: '10', epoch: 1 }])
    expect(tracker.finishedAbove('t', 0, 1, 10)).to.deep.equal([11, 12])
    expect(tracker.committable()).to.deep.equal([]) // the map was taken
    expect(new OffsetTracker().committable()).to.deep.equal([])
  })

  // SkipSet answers exactly membership for increasing questions. Catches (seen failing): the cursor kept
  // on a range that ends at the offset asked (b < n instead of b <= n: the first offset past it skipped).
  it('SkipSet: membership for offsets asked in increasing order', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 200 }), fc.array(fc.boolean(), { maxLength: 200 }), (flags, asked) => {
        const ranges: number[] = []
        flags.forEach((f, i) => {
          if (!f) return
          if (ranges.length > 0 && ranges[ranges.length - 1] === i) ranges[ranges.length - 1] = i + 1
          else ranges.push(i, i + 1)
        })
        const skip = new SkipSet(ranges)
        asked.forEach((ask, i) => {
          if (ask) expect(skip.has(String(i))).to.equal(flags[i] === true)
        })
      }),
      { numRuns: 300 },
    )
  })
})
