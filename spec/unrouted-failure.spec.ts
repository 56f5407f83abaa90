import { expect } from 'chai'
import fc from 'fast-check'
import { from, lastValueFrom, of, tap, toArray } from 'rxjs'
import { publish } from '../lib/publish/publish'
import type { KafkaProducerLike } from '../lib/client/producer'
import { commitOffsets, type Commit } from '../operators/commit-offsets'
import { drop, failed, forward, type Failed, type OutputMessage, type Result } from '../operators/result'
import { routed, UnroutedFailureError, unroutedFailureOf } from '../operators/unrouted-failure'
import type { Processed } from '../operators/processed'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { recordBuilder, type TestRecord } from '../lib/testing/records'

type Outcome = 'forward' | 'drop' | 'fail' | 'dead-letter' | 'routed'
type Item = Processed<TestRecord, Result<string>>

const resultOf = (o: Outcome, i: number): Result<string> => {
  switch (o) {
    case 'forward': return forward(`out ${i}`)
    case 'drop': return drop('nothing to do')
    case 'fail': return failed(new Error(`poison ${i}`), 3, 'fail')
    case 'dead-letter': return failed(new Error(`poison ${i}`), 3, 'dead-letter')
    case 'routed': return routed(failed(new Error(`poison ${i}`), 3, 'dead-letter'), 'dlt')
  }
}

/** Per partition, a list of outcomes; `order` interleaves the partitions' items (each partition in order, or not). */
const scenario = fc.record({
  partitions: fc.array(
    fc.array(fc.constantFrom<Outcome>('forward', 'forward', 'forward', 'drop', 'routed', 'fail', 'dead-letter'), { minLength: 1, maxLength: 10 }),
    { minLength: 1, maxLength: 3 },
  ),
  shuffleSeed: fc.integer(),
  inPartitionOrder: fc.boolean(),
})

/** The test's own oracle (not the implementation's): the one result of an item is a failure nobody routed. */
const unrouted = (it: Item): boolean => {
  const r = it.results[0]!
  return r.kind === 'failed' && r.routedTo === undefined
}

interface Run {
  items: Item[]
  commits: Commit[]
  error: unknown
}

/** Builds the items, delivers them to a tracker, feeds them to commitOffsets in a shuffled order; synchronous. */
function run(s: { partitions: Outcome[][]; shuffleSeed: number; inPartitionOrder: boolean }): Run {
  const tracker = new OffsetTracker()
  const make = recordBuilder({ topic: 't' })
  const lanes = s.partitions.map((outcomes, p) => outcomes.map((o, i): Item => {
    const item = make({ partition: p, key: `k${i % 3}` })
    tracker.deliver(item)
    return { item, results: [resultOf(o, i)] }
  }))
  // A deterministic interleaving: each step takes the next item of a lane picked from the seed.
  let seed = s.shuffleSeed >>> 0
  const next = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n }
  const items: Item[] = []
  const pending = lanes.map((l) => [...l])
  while (pending.some((l) => l.length > 0)) {
    const open = pending.filter((l) => l.length > 0)
    const lane = open[next(open.length)]!
    items.push(s.inPartitionOrder ? lane.shift()! : lane.splice(next(lane.length), 1)[0]!)
  }
  const commits: Commit[] = []
  let error: unknown
  from(items).pipe(
    commitOffsets({ tracker, commit: () => of(undefined) }, { interval: 0, maxUncommitted: 1 }),
  ).subscribe({ next: (c) => commits.push(c), error: (e) => { error = e } })
  return { items, commits, error }
}

describe('commitOffsets and failed results no stage routed', () => {
  // Invariant: no commit of a partition passes a record whose failed result no stage routed.
  // Mutation caught: removing the unroutedFailureOf check in commitOffsets' `next` (the failure is then
  // finished like any record and the commit moves past it: committed 8 with a poison at 2, issue 15.2).
  it('never commits past an unrouted failed result, whatever the interleaving (property)', () => {
    fc.assert(fc.property(scenario, (s) => {
      const r = run(s)
      const received = r.items.slice(0, r.items.findIndex((it) => unrouted(it)) + 1 || r.items.length)
      for (const c of r.commits) {
        for (const o of c.offsets) {
          for (const it of received) {
            if (it.item.partition === o.partition && unrouted(it)) {
              expect(Number(o.offset)).to.be.at.most(Number(it.item.offset))
            }
          }
        }
      }
      const first = received.find((it) => unrouted(it))
      if (first === undefined) {
        expect(r.error).to.equal(undefined)
      } else {
        expect(r.error).to.be.instanceOf(UnroutedFailureError)
        expect((r.error as UnroutedFailureError).record).to.deep.equal({
          topic: 't', partition: first.item.partition, offset: first.item.offset, key: first.item.key,
        })
      }
    }), { numRuns: 500 })
  })

  // Invariant: in partition order (after orderedMerge) the commit stops exactly at the unrouted failure,
  // and routed failures (publish's dead letters) are committed past like any finished record.
  // Mutations caught: treating a routed failure as unrouted (dropping `routedTo === undefined` in
  // unroutedFailureOf: the commit stops at a routed letter); finishing nothing at all once a failure is
  // seen (the commit falls short of it).
  it('in partition order, commits exactly up to the unrouted failure and past routed ones (property)', () => {
    fc.assert(fc.property(scenario, (s0) => {
      const s = { ...s0, inPartitionOrder: true }
      const r = run(s)
      const stopAt = r.items.findIndex((it) => unrouted(it))
      const received = stopAt === -1 ? r.items : r.items.slice(0, stopAt + 1)
      // Expected last commit per partition: just past the prefix of received items before any unrouted failure.
      const expected = new Map<number, number>()
      const blocked = new Set<number>()
      for (const it of received) {
        const p = it.item.partition
        if (blocked.has(p)) continue
        if (unrouted(it)) { blocked.add(p); continue }
        expected.set(p, Number(it.item.offset) + 1)
      }
      const last = new Map<number, number>()
      for (const c of r.commits) for (const o of c.offsets) last.set(o.partition, Number(o.offset))
      expect([...last].sort()).to.deep.equal([...expected].sort())
    }), { numRuns: 500 })
  })

  it("names the record (topic, partition, offset, key) and the cause, for 'fail' and for an unsent 'dead-letter'", () => {
    const make = recordBuilder({ topic: 'orders' })
    make({ partition: 4 }); make({ partition: 4 })
    const record = make({ partition: 4, key: 'customer-7' })
    const cause = new Error('card declined')
    const fail = new UnroutedFailureError(record, failed(cause, 3, 'fail'))
    expect(fail.message).to.contain('orders/4@2').and.contain('"customer-7"').and.contain('card declined')
      .and.contain("action 'fail'").and.contain('3 attempt')
    expect(fail.cause).to.equal(cause)
    const letter = new UnroutedFailureError(record, failed(cause, 1, 'dead-letter'))
    expect(letter.message).to.contain('orders/4@2').and.contain('no stage routed it').and.contain('deadLetterTopic')
  })

  it('finds unrouted failures in Processed items only, and ignores what is not a result', () => {
    const f: Failed = failed('x', 1, 'fail')
    expect(unroutedFailureOf({ item: {}, results: [forward(1), f] })).to.equal(f)
    expect(unroutedFailureOf({ item: {}, results: [routed(f, 'dlt')] })).to.equal(undefined)
    expect(unroutedFailureOf({ topic: 't', partition: 0, offset: '0' })).to.equal(undefined)
    expect(unroutedFailureOf({ item: {}, results: [null, [f], 'failed'] })).to.equal(undefined)
    expect(() => routed(f, '')).to.throw(TypeError, /routed/)
  })

  // Mutation caught: publish emitting the input unchanged after sending its dead letter (no `routedTo`):
  // commitOffsets then stops at the letter although it is durable.
  it('publish marks the dead letters it sent, so commitOffsets commits past them', async () => {
    const tracker = new OffsetTracker()
    const make = recordBuilder({ topic: 't' })
    type Out = Processed<TestRecord, Result<OutputMessage>>
    const items: Out[] = [0, 1, 2, 3].map((i) => {
      const item = make({ key: `k${i}` })
      tracker.deliver(item)
      return { item, results: [i === 2 ? failed(new Error('poison'), 3) : forward({ key: item.key, value: `v${i}` })] }
    })
    const sent: string[] = []
    const producer: KafkaProducerLike = {
      sendBatch: async ({ topicMessages }) => { for (const t of topicMessages) sent.push(...t.messages.map(() => t.topic)) },
    }
    const published: Out[] = []
    const commits = await lastValueFrom(from(items).pipe(
      publish(producer, { topic: 'out', deadLetterTopic: 'dlt', linger: 0 }),
      tap((p) => published.push(p)),
      commitOffsets({ tracker, commit: () => of(undefined) }, { interval: 0 }),
      toArray(),
    ))
    expect(sent.filter((t) => t === 'dlt')).to.have.length(1)
    expect(published[2]!.results[0]).to.include({ kind: 'failed', routedTo: 'dlt' })
    expect(published[2]!.item).to.equal(items[2]!.item)
    expect(commits.at(-1)!.offsets[0]!.offset).to.equal('4')
  })
})
