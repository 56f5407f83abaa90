import { expect } from 'chai'
import fc from 'fast-check'
import { ArrivalLog } from '../operators/batch-arrivals'
import { Batch, Lane, type BatchOwner } from '../operators/batch-parts'

const owner: BatchOwner<number, number, number, string> = { finish: () => undefined, failBatch: () => undefined }
const newBatch = (): Batch<number, number, number, string> => new Batch(owner, true, 0)

describe('batchByKey lane queue', () => {
  // Invariant: what a lane's queue hands out is what arrived, in arrival order, and its array never holds more
  // than twice what waits (plus 128), however arrivals (through the arrival log's sort) and moves into batches
  // interleave: a hot key's queue that never empties stays bounded.
  // Mutation caught: removing the compaction in `#afterRead` (the array then grows with every item ever queued).
  it('moves entries out in arrival order and keeps its array bounded by what waits', () => {
    fc.assert(
      // A prefill, then arrivals and moves at random: the queue mostly stays non-empty, as a hot key's does.
      fc.property(fc.integer({ min: 0, max: 200 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 8 })), { minLength: 300, maxLength: 1500 }), (prefill, ops) => {
        const lane = new Lane<number, number, number, string>('k')
        const log = new ArrivalLog<number, number, number, string>()
        const model: number[] = []
        let next = 0
        for (const [arrive, n] of [[true, prefill] as const, ...ops]) {
          if (arrive || model.length === 0) {
            for (let i = 0; i < n; i++) log.append(next, lane), model.push(next++)
            log.sortIntoLanes()
          } else {
            const batch = newBatch()
            lane.moveInto(batch, n, true)
            const expected = model.splice(0, n)
            if (batch.entries.length !== expected.length || batch.entries.some((e, i) => e !== expected[i])) return false
          }
          // Plain comparisons, not chai, in this loop of up to 1,500 steps per run.
          if (lane.inLog !== 0 || lane.hasWaiting() !== model.length > 0) return false
          if ((lane.waiting?.length ?? 0) - lane.head !== model.length) return false
          if ((lane.waiting?.length ?? 0) > 2 * model.length + 128) return false
        }
        return true
      }),
      { numRuns: 500 },
    )
  })

  it('stays bounded for a hot key that never drains (one in, one out, 100 behind)', () => {
    const lane = new Lane<number, number, number, string>('k')
    const log = new ArrivalLog<number, number, number, string>()
    for (let i = 0; i < 100; i++) log.append(i, lane)
    log.sortIntoLanes()
    for (let i = 100; i < 20_000; i++) {
      log.append(i, lane)
      log.sortIntoLanes()
      const batch = newBatch()
      lane.moveInto(batch, 1, true)
      expect(batch.entries[0]).to.equal(i - 100)
    }
    expect(lane.waiting!.length).to.be.at.most(2 * 100 + 128)
  })
})

describe('batchByKey arrival log', () => {
  // Invariant: sorting the log puts each lane's entries behind what the lane already held, in arrival order,
  // and leaves nothing counted in the log.
  // Mutation caught: `reserve` writing from 0 instead of the end of what the lane holds (`#filled = 0` in its
  // else branch): the sort then overwrites a lane's older entries.
  it('sorts entries into their lanes in arrival order, behind what each lane holds', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(5), { maxLength: 40 }), { minLength: 1, maxLength: 6 }), (rounds) => {
        const lanes = Array.from({ length: 6 }, (_, k) => new Lane<number, number, number, string>(String(k)))
        const log = new ArrivalLog<number, number, number, string>()
        const model = lanes.map((): number[] => [])
        let next = 0
        for (const keys of rounds) {
          for (const k of keys) log.append(next, lanes[k]!), model[k]!.push(next++)
          log.sortIntoLanes()
          for (let k = 0; k < lanes.length; k++) {
            const lane = lanes[k]!
            if (lane.inLog !== 0) return false
            const held = lane.waiting === null ? [] : lane.waiting.slice(lane.head)
            if (held.length !== model[k]!.length || held.some((e, i) => e !== model[k]![i])) return false
          }
        }
        return true
      }),
      { numRuns: 500 },
    )
  })

  it('keeps arrival order across chunks of the log (more entries than one chunk holds)', () => {
    const lanes = [new Lane<number, number, number, string>('a'), new Lane<number, number, number, string>('b')]
    const log = new ArrivalLog<number, number, number, string>()
    for (let i = 0; i < 20_000; i++) log.append(i, lanes[i % 3 === 0 ? 0 : 1]!)
    log.sortIntoLanes()
    expect(lanes[0]!.waiting).to.deep.equal(Array.from({ length: 20_000 }, (_, i) => i).filter((i) => i % 3 === 0))
    expect(lanes[1]!.waiting).to.deep.equal(Array.from({ length: 20_000 }, (_, i) => i).filter((i) => i % 3 !== 0))
  })
})
