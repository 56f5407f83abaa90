import { expect } from 'chai'
import { ok, strictEqual } from 'node:assert'
import fc from 'fast-check'
import { of, Subject } from 'rxjs'
import { orderedMerge } from '../operators/ordered-merge'
import { originOf } from '../operators/origin-of'
import { HOLE, LaneBuffer } from '../operators/lane-buffer'
import type { Processed } from '../operators/processed'
import { recordBuilder, type TestRecord } from '../lib/testing/records'

type Item = TestRecord | Processed<TestRecord, number>
const laneKey = (item: Item): string => `${originOf(item).topic}-${originOf(item).partition}`

describe('originOf', () => {
  const make = recordBuilder()

  it('returns a record itself', () => {
    const r = make({ key: 'k' })
    expect(originOf(r)).to.equal(r)
  })

  it('returns the item of a Processed envelope, whatever its results', () => {
    const r = make({ key: 'k' })
    expect(originOf({ item: r, results: [] })).to.equal(r)
    expect(originOf({ item: r, results: ['a', 'b'] })).to.equal(r)
  })

  it('accepts a bare RecordOrigin (no key, value)', () => {
    const o = { topic: 't', partition: 2, offset: '10', seq: 0, epoch: 1 }
    expect(originOf(o)).to.equal(o)
  })
})

/**
 * Records in delivery order over a few topic-partitions: dense seq per (partition, epoch), random sparse
 * offsets, some wrapped in Processed envelopes with 0..2 results. With `rebalances`, a partition now and then
 * moves to a new epoch (its seq restarts at 0).
 */
function deliveries(rebalances: boolean): fc.Arbitrary<Item[]> {
  // Few partitions some runs (long lanes: the ring grows), many in others.
  return fc.integer({ min: 0, max: 2 }).chain(maxPartition => deliveriesOver(maxPartition, rebalances))
}

function deliveriesOver(maxPartition: number, rebalances: boolean): fc.Arbitrary<Item[]> {
  const step = fc.record({
    topic: fc.constantFrom('orders', 'payments'),
    partition: fc.integer({ min: 0, max: maxPartition }),
    gap: fc.integer({ min: 1, max: 1000 }),
    results: fc.integer({ min: -1, max: 2 }), // -1: a bare record
    rebalance: rebalances ? fc.integer({ min: 0, max: 19 }).map(r => r === 0) : fc.constant(false), // 1 in 20
  })
  return fc.array(step, { maxLength: 150, size: 'large' }).map(list => {
    const make = recordBuilder()
    const lanes = new Map<string, { offset: number; epoch: number }>()
    return list.map(({ topic, partition, gap, results, rebalance }) => {
      const lane = lanes.get(`${topic}-${partition}`) ?? { offset: -1, epoch: 0 }
      lanes.set(`${topic}-${partition}`, lane)
      if (rebalance) lane.epoch++
      lane.offset += gap
      const record = make({ topic, partition, offset: lane.offset, epoch: lane.epoch })
      return results < 0 ? record : { item: record, results: Array.from({ length: results }, (_, i) => i) }
    })
  })
}

/** Delivery order, plus a random permutation of it as the completion order. */
const scenario = (rebalances: boolean) =>
  deliveries(rebalances).chain(delivered =>
    fc.shuffledSubarray(delivered, { minLength: delivered.length, maxLength: delivered.length }).map(completed => ({ delivered, completed })),
  )

/**
 * Feeds `completed` one by one through orderedMerge and returns everything seen. After each input, `check`
 * gets that input and the items it released (`emitted.slice(from)`).
 */
function feed(completed: Item[], check: (input: Item, emitted: Item[], from: number) => void = () => {}) {
  const input = new Subject<Item>()
  const emitted: Item[] = []
  let completes = 0
  let error: unknown
  input.pipe(orderedMerge()).subscribe({ next: x => emitted.push(x), error: e => (error = e), complete: () => completes++ })
  for (const item of completed) {
    const from = emitted.length
    input.next(item)
    check(item, emitted, from)
  }
  input.complete()
  return { emitted, completes, error }
}

function byLane(items: Item[]): Map<string, Item[]> {
  const lanes = new Map<string, Item[]>()
  for (const item of items) {
    const list = lanes.get(laneKey(item)) ?? []
    list.push(item)
    lanes.set(laneKey(item), list)
  }
  return lanes
}

/**
 * The reference, kept incrementally (O(1) per item, so properties can check after every input): once some
 * items arrived, a lane must have emitted every item of an epoch older than its newest, and of its newest
 * epoch the longest run of seqs 0, 1, 2, ... received, in that order; nothing else, nothing twice.
 */
class Reference {
  private readonly lanes = new Map<string, { epoch: number; seqs: Set<number>; prefix: number; older: number; emitted: number; emittedNewest: number }>()
  private readonly received = new Set<Item>()
  private readonly emitted = new Set<Item>()
  private must = 0

  receive(item: Item): void {
    const { epoch, seq } = originOf(item)
    let lane = this.lanes.get(laneKey(item))
    if (lane === undefined) this.lanes.set(laneKey(item), (lane = { epoch, seqs: new Set(), prefix: 0, older: 0, emitted: 0, emittedNewest: 0 }))
    this.received.add(item)
    const before = lane.older + lane.prefix
    if (epoch > lane.epoch) {
      // Everything of the old epoch is now due, the gaps included once they arrive.
      Object.assign(lane, { epoch, seqs: new Set(), prefix: 0, older: lane.older + lane.seqs.size, emittedNewest: 0 })
    }
    if (epoch < lane.epoch) lane.older++
    else for (lane.seqs.add(seq); lane.seqs.has(lane.prefix); ) lane.prefix++
    this.must += lane.older + lane.prefix - before
  }

  /** Checks items the operator just released, then that it released all that is due. */
  check(released: Item[]): void {
    for (const item of released) {
      // node:assert, not chai, in this per-item loop: it runs some 10^5 times per property.
      ok(this.received.has(item), 'emitted an item it never received')
      ok(!this.emitted.has(item), 'emitted an item twice')
      this.emitted.add(item)
      const { epoch, seq } = originOf(item)
      const lane = this.lanes.get(laneKey(item))!
      lane.emitted++
      if (epoch === lane.epoch) {
        strictEqual(seq, lane.emittedNewest++, 'newest epoch out of order')
        ok(seq < lane.prefix, 'emitted before an earlier item arrived')
      } else {
        ok(epoch < lane.epoch, 'emitted an item of a newer epoch than its lane')
      }
    }
    strictEqual(this.emitted.size, this.must, 'held an item that was due')
  }
}

describe('orderedMerge (properties)', () => {
  it('outputs each lane exactly in delivery order, each item once, and completes', () => {
    // Invariant: per lane, the output is exactly the lane's delivery order, whatever the completion order.
    // Caught: LaneBuffer.grow re-indexing old slots with the new mask (`old[seq & mask]`): items misplaced on
    // growth, so a lane errors at completion waiting for a seq it lost.
    fc.assert(
      fc.property(scenario(false), ({ delivered, completed }) => {
        const { emitted, completes, error } = feed(completed)
        expect(error).to.equal(undefined)
        expect(completes).to.equal(1)
        expect(emitted).to.have.length(delivered.length)
        const want = byLane(delivered)
        // By identity: chai's deep-equal on whole records is needlessly slow at 1000 runs.
        for (const [lane, items] of byLane(emitted)) strictEqual(items.length, want.get(lane)!.length)
        for (const [lane, items] of byLane(emitted)) ok(items.every((item, i) => item === want.get(lane)![i]), `lane ${lane} out of order`)
      }),
      { numRuns: 1000 },
    )
  })

  it('emits an item as soon as every earlier item of its lane has arrived, never before', () => {
    // Invariant: after each input, each lane's output is exactly its longest received prefix of seqs 0, 1, 2, ...
    // Caught: the drain loop stopping after one early item (`break` after subscriber.next(early)): 'held an item
    // that was due'.
    fc.assert(
      fc.property(scenario(false), ({ completed }) => {
        const reference = new Reference()
        feed(completed, (input, emitted, from) => {
          reference.receive(input)
          reference.check(emitted.slice(from))
        })
      }),
      { numRuns: 1000 },
    )
  })

  it('holds no more than what was received and not emitted, frees empty lanes, and ends empty', () => {
    // Invariant: items found in lane storage <= received - emitted after every input, storage is freed when a
    // lane empties, and nothing is stored at the end.
    // Caught: takeNext not clearing the slot it takes (`slots[i] = HOLE` removed): 'storage holds items the lane
    // does not count'; and (separately, caught by this property only) a lane keeping its storage when it
    // empties (`this.slots = undefined` removed): 'an empty lane kept its storage'.
    const lanes = new Set<LaneBuffer<unknown>>()
    const hold = LaneBuffer.prototype.hold
    // A spy, not a hook in the operator: collects every lane that ever held an item.
    LaneBuffer.prototype.hold = function (this: LaneBuffer<unknown>, seq: number, item: unknown) {
      lanes.add(this)
      return hold.call(this, seq, item)
    }
    try {
      fc.assert(
        fc.property(scenario(true), ({ completed }) => {
          lanes.clear()
          // Only the input's lane changes on an input: rescan its storage, keep the others' counts.
          const stored = new Map<LaneBuffer<unknown>, number>()
          let received = 0
          const { error } = feed(completed, (input, emitted) => {
            received++
            for (const lane of lanes) {
              if (lane.id !== laneKey(input)) continue
              stored.set(lane, lane.stored())
              strictEqual(lane.stored(), lane.size, 'storage holds items the lane does not count')
              ok(lane.size > 0 || lane.capacity === 0, 'an empty lane kept its storage')
            }
            const total = [...stored.values()].reduce((n, s) => n + s, 0)
            ok(total <= received - emitted.length, `${total} stored > ${received} received - ${emitted.length} emitted`)
          })
          expect(error).to.equal(undefined)
          for (const lane of lanes) expect([lane.stored(), lane.capacity]).to.deep.equal([0, 0])
        }),
        { numRuns: 1000 },
      )
    } finally {
      LaneBuffer.prototype.hold = hold
    }
  })

  it('across rebalances: flushes an older epoch when a newer one starts, passes stale items at once, orders the newest', () => {
    // Invariant: after each input, a lane has emitted exactly its items of older epochs plus the received
    // prefix of its newest epoch (that in seq order); each item once, and the stream completes.
    // Caught: stale items dropped (`if (epoch < lane.epoch) return`), and (separately) the old epoch's held items
    // discarded on a restart (`lane.restart(epoch)` without emitting what it returns): 'held an item that was due'.
    fc.assert(
      fc.property(scenario(true), ({ delivered, completed }) => {
        const reference = new Reference()
        const { emitted, completes, error } = feed(completed, (input, emitted, from) => {
          reference.receive(input)
          reference.check(emitted.slice(from))
        })
        expect(error).to.equal(undefined)
        expect(completes).to.equal(1)
        expect(emitted).to.have.length(delivered.length)
      }),
      { numRuns: 1000 },
    )
  })
})

describe('orderedMerge (units)', () => {
  it('stays ordered when emitting re-enters it (a synchronous feedback path downstream)', () => {
    const make = recordBuilder()
    const [a, b, c, d] = [make(), make(), make(), make()]
    const input = new Subject<TestRecord>()
    const out: number[] = []
    input.pipe(orderedMerge()).subscribe(r => {
      out.push(r.seq)
      if (r === a) input.next(c) // arrives while a is being emitted and b is held
      if (r === b) input.next(d)
    })
    input.next(b)
    input.next(a)
    expect(out).to.deep.equal([0, 1, 2, 3])
  })

  it('type-checks the no-argument form only for items that carry an origin', () => {
    const numbers = of(1, 2)
    // @ts-expect-error numbers carry no RecordOrigin: laneOf and seqOf are required
    numbers.pipe(orderedMerge())
    // @ts-expect-error a custom stream needs seqOf as well as laneOf
    numbers.pipe(orderedMerge({ laneOf: () => 0 }))
    numbers.pipe(orderedMerge({ laneOf: () => 0, seqOf: n => n - 1 })) // n: number, inferred
    const make = recordBuilder()
    of(make()).pipe(orderedMerge())
    of<Processed<TestRecord, string>>({ item: make(), results: [] }).pipe(orderedMerge())
  })
})

describe('LaneBuffer', () => {
  it('keeps held items at their seq across growth, and frees its storage when it empties', () => {
    const lane = new LaneBuffer<number>('t-0')
    for (const seq of [3, 1, 40, 2, 200, 17]) expect(lane.hold(seq, seq)).to.equal(true)
    expect(lane.hold(40, 40)).to.equal(false)
    expect(lane.capacity).to.equal(256)
    lane.next = 1
    const taken: number[] = []
    for (let item = lane.takeNext(); item !== HOLE; item = lane.takeNext()) taken.push(item)
    expect(taken).to.deep.equal([1, 2, 3])
    expect(lane.restart(1)).to.deep.equal([17, 40, 200])
    expect([lane.epoch, lane.next, lane.size, lane.capacity]).to.deep.equal([1, 0, 0, 0])
  })

  it('refuses a seq implausibly far ahead rather than allocating for it', () => {
    expect(() => new LaneBuffer<number>('t-0').hold(2 ** 30, 0)).to.throw(RangeError, /seqs must be dense/)
  })
})
