// pullRecords: the Observable -> async iterator bridge and its feedback path, against a fake source that
// keeps a real OffsetTracker and, as fromKafka does, delivers only while fewer than maxInFlight records are
// unfinished. Each property names the mutation it was seen to catch.
import { expect } from 'chai'
import fc from 'fast-check'
import { Observable } from 'rxjs'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { pullRecords, type PullSource } from '../lib/pull/pull-records'
import type { RecordOrigin, TrackedCommitOffset } from '../lib/record/record'

const NUM_RUNS = 300

interface FakeRun {
  readonly source: PullSource<RecordOrigin>
  readonly delivered: RecordOrigin[]
  readonly commits: TrackedCommitOffset[][]
  /** The most records delivered and unfinished at once, and the most waiting unpulled in the bridge. */
  readonly max: { inFlight: number }
  closedSettled(): boolean
}

/**
 * `total` records over `partitions` partitions, delivered in bursts while in flight < maxInFlight; completes
 * once everything was delivered and finished (as a drain does), or when unsubscribed.
 */
function fakeSource(total: number, partitions: number, maxInFlight: number): FakeRun {
  const delivered: RecordOrigin[] = []
  const commits: TrackedCommitOffset[][] = []
  const max = { inFlight: 0 }
  let settled = true
  let pump = (): void => undefined
  const observable = new Observable<RecordOrigin>((subscriber) => {
    settled = false
    const seqs = new Array<number>(partitions).fill(0)
    let sent = 0
    let pumping = false
    pump = () => {
      if (pumping || subscriber.closed) return
      pumping = true
      // Delivered on a later turn, as a fetch would be: the loop may pull in between.
      setImmediate(() => {
        pumping = false
        while (!subscriber.closed && sent < total && tracker.inFlight < maxInFlight) {
          const partition = sent % partitions
          const record = { topic: 't', partition, offset: String(seqs[partition]! * 2), seq: seqs[partition]!, epoch: 1 }
          seqs[partition]!++
          sent++
          tracker.deliver(record)
          max.inFlight = Math.max(max.inFlight, tracker.inFlight)
          delivered.push(record)
          subscriber.next(record)
        }
        if (sent === total && tracker.inFlight === 0) subscriber.complete()
      })
    }
    pump()
    return () => {
      setImmediate(() => (settled = true))
    }
  })
  const tracker = new OffsetTracker({ onRelease: () => pump() })
  const source = Object.assign(observable, {
    tracker,
    commit: async (offsets: readonly TrackedCommitOffset[]) => {
      commits.push([...offsets])
    },
    closed: () => new Promise<void>((resolve) => {
      const check = (): void => (settled ? resolve() : void setImmediate(check))
      check()
    }),
  })
  return { source, delivered, commits, max, closedSettled: () => settled }
}

/** The committed offset per partition after a run: the last commit that named it. */
function lastCommitted(commits: readonly TrackedCommitOffset[][]): Map<number, number> {
  const last = new Map<number, number>()
  for (const commit of commits) for (const c of commit) last.set(c.partition, Number(c.offset))
  return last
}

const scenario = fc.record({
  total: fc.integer({ min: 0, max: 60 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  maxInFlight: fc.integer({ min: 1, max: 8 }),
  hold: fc.integer({ min: 0, max: 7 }),
  picks: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
  breakAt: fc.option(fc.nat({ max: 60 }), { nil: undefined }),
})

describe('pullRecords', () => {
  // Invariant: the loop pulls every record the source emitted, once each, in delivery order; the records
  // delivered and unfinished (pulled or still in the bridge's buffer) never exceed maxInFlight.
  // Mutations caught: the bridge pushing a record twice (`loop.next(record)` called twice: the pulled
  // sequence is longer than delivered); the loop ending before the source shut down (`finalize(() =>
  // Promise.resolve())`: closedSettled is false); dropping a record (`if (record.seq % 5 !== 3)
  // loop.next(record)`) or `finish` reaching nothing: the run never drains and mocha's timeout fails it.
  it('neither loses nor duplicates a record, and holds in flight <= maxInFlight', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ total, partitions, maxInFlight, hold, picks, breakAt }) => {
        const run = fakeSource(total, partitions, maxInFlight)
        const pull = pullRecords(run.source, { interval: 1 })
        const pulled: RecordOrigin[] = []
        const held: RecordOrigin[] = []
        const finished = new Set<RecordOrigin>()
        const keep = Math.min(hold, maxInFlight - 1) // holding maxInFlight would leave nothing to pull
        let step = 0
        for await (const record of pull) {
          pulled.push(record)
          if (breakAt !== undefined && pulled.length > breakAt) break
          held.push(record)
          // Finish held records in a scrambled order, keeping at most `keep` unfinished; all at the end.
          while (held.length > keep || (pulled.length === total && held.length > 0)) {
            const [next] = held.splice(picks[step++ % picks.length]! % held.length, 1)
            pull.finish(next!)
            finished.add(next!)
          }
        }
        expect(run.closedSettled(), 'the loop ended only after the source shut down').to.equal(true)
        expect(pulled).to.deep.equal(run.delivered.slice(0, pulled.length))
        if (breakAt === undefined || breakAt >= total) expect(pulled.length).to.equal(total)
        expect(run.max.inFlight).to.be.at.most(maxInFlight)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  // Invariant: after the loop ends (completed or broken out of), each partition's last commit is exactly
  // past its longest finished prefix: nothing finished is left uncommitted, nothing unfinished is passed.
  // Mutation caught: finishing records as they are handed to the loop (`inner.next(record)` beside
  // `loop.next(record)`, an auto-ack): the commit passes the records the loop still held or broke on.
  it('commits exactly the finished prefix of each partition when the loop ends', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ total, partitions, maxInFlight, hold, picks, breakAt }) => {
        const run = fakeSource(total, partitions, maxInFlight)
        const pull = pullRecords(run.source, { interval: 1_000 })
        const held: RecordOrigin[] = []
        const finished = new Set<RecordOrigin>()
        const keep = Math.min(hold, maxInFlight - 1)
        let pulled = 0
        let step = 0
        for await (const record of pull) {
          pulled++
          held.push(record)
          if (breakAt !== undefined && pulled > breakAt) break
          while (held.length > keep || (pulled === total && held.length > 0)) {
            const [next] = held.splice(picks[step++ % picks.length]! % held.length, 1)
            pull.finish(next!)
            finished.add(next!)
          }
        }
        const expected = new Map<number, number>()
        for (let p = 0; p < partitions; p++) {
          const mine = run.delivered.filter((r) => r.partition === p)
          const prefix = mine.findIndex((r) => !finished.has(r))
          const done = prefix === -1 ? mine.length : prefix
          // Offsets are 2 * seq: the commit is just past the last finished one of the prefix.
          if (done > 0) expected.set(p, Number(mine[done - 1]!.offset) + 1)
        }
        expect([...lastCommitted(run.commits)].sort()).to.deep.equal([...expected].sort())
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('an error thrown in the loop body commits what finished, shuts the source down, and is rethrown', async () => {
    const run = fakeSource(20, 1, 5)
    const pull = pullRecords(run.source, { interval: 1_000 })
    const boom = new Error('boom')
    let caught: unknown
    try {
      for await (const record of pull) {
        if (record.seq === 7) throw boom
        pull.finish(record)
      }
    } catch (error) {
      caught = error
    }
    expect(caught).to.equal(boom)
    expect(run.closedSettled()).to.equal(true)
    expect(lastCommitted(run.commits)).to.deep.equal(new Map([[0, 13]])) // past offset 12 (seq 6)
  })

  it('batches: arrays of at most size records, in order, none lost', async () => {
    const run = fakeSource(25, 2, 10)
    const pull = pullRecords(run.source, { interval: 1 })
    const batches: RecordOrigin[][] = []
    for await (const batch of pull.batches({ size: 4, time: 5 })) {
      batches.push(batch)
      for (const record of batch) pull.finish(record)
    }
    expect(batches.every((b) => b.length >= 1 && b.length <= 4)).to.equal(true)
    expect(batches.flat()).to.deep.equal(run.delivered)
    expect(run.delivered.length).to.equal(25)
  })

  it('rejects bad options naming the stage and the value', () => {
    const run = fakeSource(0, 1, 1)
    expect(() => pullRecords(run.source, { interval: -1 })).to.throw(/commitOffsets/)
    expect(() => pullRecords(run.source).batches({ size: 0, time: 5 })).to.throw(/pullRecords batches: size .* got 0/)
    expect(() => pullRecords(run.source).batches({ size: 2, time: Infinity })).to.throw(/time .* got Infinity/)
  })
})
