import { expect } from 'chai'
import fc from 'fast-check'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { StatsSampler, type PipelineStats } from '../lib/stats/sampler'
import type { RecordOrigin } from '../lib/record/record'

// Property: for any deliveries, finishes (in any order, of owned or revoked epochs), commits, reassignments
// and clock steps, a stats snapshot equals a plain model: per owned partition delivered / finished / in
// flight / committed offset / lag / oldest unfinished offset, key and age; stuck records; totals and rates.
//
// Mutations this caught (each made the property fail, then reverted):
// - EpochProgress.oldestRecord reading slot `tail - 1` instead of `head`: wrong oldest offset / stuck key.
// - EpochProgress.grow not copying `records`: the oldest record lost once more than 16 were in flight.
// - OffsetTracker.#deliverSlowly not counting `#delivered`: totals and deliveredPerSecond off after each
//   first record of an epoch.
// - StatsSampler lag as `committed - highWatermark`: wrong sign.
// - EpochProgress.deliver setting `committed` to the first delivered offset before any commit (issue 15: a
//   finite lag and a committed offset for a partition the broker has no commit for).
// - StatsSampler stuck test `ageMs >= stuckAfter`: a record exactly at the threshold reported.

interface MRecord { readonly origin: RecordOrigin & { key: string }; readonly time: number; finished: boolean }
interface MLane { epoch: number; records: MRecord[]; nextOffset: number; committed: number; highWatermark: number }

const PARTITIONS = 2
const STUCK_AFTER = 4

type Command =
  | { kind: 'deliver'; partition: number; gap: number; key: number }
  | { kind: 'burst'; partition: number; count: number }
  | { kind: 'finish'; pick: number }
  | { kind: 'commit' }
  | { kind: 'reassign'; partition: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'sample' }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), partition: fc.nat(PARTITIONS - 1), gap: fc.nat(2), key: fc.nat(5) }) },
  // Enough records at once that a partition's ring buffer grows past its first 16 slots.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('burst' as const), partition: fc.nat(PARTITIONS - 1), count: fc.integer({ min: 5, max: 20 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('commit' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reassign' as const), partition: fc.nat(PARTITIONS - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sample' as const) }) },
)

class World {
  now = 0
  readonly tracker = new OffsetTracker({ now: () => this.now })
  readonly lanes: (MLane | undefined)[] = new Array(PARTITIONS).fill(undefined)
  readonly all: MRecord[] = []
  epochs = 0
  // High watermarks the "source" reports: some way past what was delivered.
  readonly sampler = new StatsSampler(
    { tracker: this.tracker, highWatermark: (_t, p) => (this.lanes[p] === undefined ? undefined : String(this.lanes[p]!.highWatermark)) },
    { stuckAfter: STUCK_AFTER },
    0,
  )
  lastSample = { time: 0, delivered: 0, finished: 0 }

  run(c: Command): void {
    switch (c.kind) {
      case 'deliver': {
        let lane = this.lanes[c.partition]
        if (lane === undefined) lane = this.lanes[c.partition] = { epoch: ++this.epochs, records: [], nextOffset: 0, committed: -1, highWatermark: 0 }
        const offset = lane.nextOffset + c.gap
        const origin = { topic: 't', partition: c.partition, offset: String(offset), seq: lane.records.length, epoch: lane.epoch, key: `k${c.key}` }
        this.tracker.deliver(origin)
        lane.records.push({ origin, time: this.now, finished: false })
        this.all.push(lane.records.at(-1)!)
        lane.nextOffset = offset + 1
        lane.highWatermark = Math.max(lane.highWatermark, offset + 1 + c.gap)
        return
      }
      case 'burst':
        for (let i = 0; i < c.count; i++) this.run({ kind: 'deliver', partition: c.partition, gap: i % 2, key: i % 7 })
        return
      case 'finish': {
        const open = this.all.filter((r) => !r.finished)
        if (open.length === 0) return
        const r = open[c.pick % open.length]!
        r.finished = true
        this.tracker.finish(r.origin)
        return
      }
      case 'commit': {
        this.tracker.committed(this.tracker.committable())
        for (const lane of this.lanes) {
          if (lane === undefined) continue
          const firstOpen = lane.records.findIndex((r) => !r.finished)
          const done = firstOpen === -1 ? lane.records : lane.records.slice(0, firstOpen)
          if (done.length > 0) lane.committed = Number(done.at(-1)!.origin.offset) + 1
        }
        return
      }
      case 'reassign': {
        // Revoked, then assigned again in a new epoch: fetching restarts from the committed offset.
        const lane = this.lanes[c.partition]
        if (lane === undefined) return
        this.tracker.revoke('t', c.partition)
        const from = lane.committed >= 0 ? lane.committed : lane.records.length > 0 ? Number(lane.records[0]!.origin.offset) : lane.nextOffset
        this.lanes[c.partition] = { epoch: ++this.epochs, records: [], nextOffset: from, committed: -1, highWatermark: lane.highWatermark }
        return
      }
      case 'tick':
        this.now += c.ms
        return
      case 'sample':
        this.check(this.sampler.sample(this.now))
    }
  }

  check(s: PipelineStats): void {
    const delivered = this.all.length
    const finished = this.all.filter((r) => r.finished).length
    const elapsed = this.now - this.lastSample.time
    const rate = (n: number): number => (elapsed > 0 ? (n * 1000) / elapsed : 0)
    expect(s.inFlight).to.equal(delivered - finished)
    expect(s.deliveredPerSecond).to.equal(rate(delivered - this.lastSample.delivered))
    expect(s.finishedPerSecond).to.equal(rate(finished - this.lastSample.finished))
    this.lastSample = { time: this.now, delivered, finished }

    const expected = this.lanes.flatMap((lane, partition) => {
      if (lane === undefined || lane.records.length === 0) return []
      const open = lane.records.filter((r) => !r.finished)
      const oldest = open[0]
      return [{
        partition, epoch: lane.epoch, delivered: lane.records.length, finished: lane.records.length - open.length, inFlight: open.length,
        // Only an acknowledged commit: none yet means committed and lag unknown (issue 15).
        committed: lane.committed < 0 ? undefined : String(lane.committed),
        lag: lane.committed < 0 ? undefined : lane.highWatermark - lane.committed,
        oldestUnfinishedOffset: oldest?.origin.offset, oldestUnfinishedAgeMs: oldest === undefined ? undefined : this.now - oldest.time,
      }]
    })
    const actual = s.partitions.map((p) => ({
      partition: p.partition, epoch: p.epoch, delivered: p.delivered, finished: p.finished, inFlight: p.inFlight, committed: p.committed,
      lag: p.lag, oldestUnfinishedOffset: p.oldestUnfinishedOffset, oldestUnfinishedAgeMs: p.oldestUnfinishedAgeMs,
    }))
    expect(actual).to.deep.equal(expected)

    const stuck = this.lanes.flatMap((lane, partition) => {
      const oldest = lane?.records.find((r) => !r.finished)
      if (lane === undefined || oldest === undefined || this.now - oldest.time <= STUCK_AFTER) return []
      return [{ topic: 't', partition, epoch: lane.epoch, offset: oldest.origin.offset, key: oldest.origin.key, ageMs: this.now - oldest.time }]
    })
    expect(s.stuck).to.deep.equal(stuck)
  }
}

describe('pipelineStats snapshots (property)', () => {
  it('equal a model of deliveries, finishes, commits and reassignments', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 200 }), (commands) => {
        const world = new World()
        for (const c of commands) world.run(c)
        world.run({ kind: 'sample' })
      }),
      { numRuns: 500 },
    )
  })
})
