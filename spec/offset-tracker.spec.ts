import { expect } from 'chai'
import fc from 'fast-check'
import { from } from 'rxjs'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { trackDelivery } from '../operators/track-delivery'
import type { RecordOrigin, TrackedCommitOffset } from '../lib/record/record'

const origin = (offset: number | string, seq: number, epoch = 1, partition = 0, topic = 't'): RecordOrigin =>
  ({ topic, partition, offset: String(offset), seq, epoch })

// ---------------------------------------------------------------------------------------------------------
// The model: plain arrays, O(n) scans, the spec written as directly as possible.

const TOPICS = ['a', 'b'] as const
const PARTITIONS = 2
const LANES = TOPICS.flatMap((topic) => Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })))

interface MRecord { readonly origin: RecordOrigin; readonly offset: number; finished: boolean }
type Mark = { readonly record: MRecord } | { readonly position: number }

interface MLane {
  readonly topic: string
  readonly partition: number
  owned: boolean
  epoch: number // current epoch when owned, else the last one
  records: MRecord[] // of the current epoch
  marks: Mark[] // delivered records and advance() positions of the current epoch, in order
  position: number // next fetch offset, -1 unknown
  committed: number // -1 unknown
  brokerCommitted: number // survives epochs: where a re-assigned partition starts reading
  everDelivered: boolean
}

class Model {
  readonly lanes: MLane[] = LANES.map(({ topic, partition }) => ({
    topic, partition, owned: false, epoch: 0, records: [], marks: [], position: -1, committed: -1,
    brokerCommitted: 0, everDelivered: false,
  }))
  /** Every record ever delivered, of every epoch. */
  readonly all: MRecord[] = []

  inFlight(): number {
    return this.all.filter((r) => !r.finished).length
  }

  /** Just past the longest prefix of marks whose records are all finished; -1 when that prefix is empty. */
  watermark(lane: MLane): number {
    let w = -1
    for (const m of lane.marks) {
      if ('record' in m) {
        if (!m.record.finished) break
        w = m.record.offset + 1
      } else w = m.position
    }
    return w
  }

  committable(): TrackedCommitOffset[] {
    const out: TrackedCommitOffset[] = []
    for (const lane of this.lanes) {
      const w = this.watermark(lane)
      if (lane.owned && w > lane.committed) {
        out.push({ topic: lane.topic, partition: lane.partition, offset: String(w), epoch: lane.epoch })
      }
    }
    return out
  }
}

class Real {
  readonly tracker = new OffsetTracker({ now: () => 0 })
  /** Highest `committed` seen per (topic, partition, epoch): it must never decrease. */
  readonly committedSeen = new Map<string, number>()
  constructor(readonly check: (m: Model, r: Real) => void) {}
}

const sortKey = (o: { topic: string; partition: number }): string => `${o.topic}/${o.partition}`
const sorted = <T extends { topic: string; partition: number }>(xs: T[]): T[] =>
  [...xs].sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : 1))

const INVARIANTS: { name: string; check: (m: Model, r: Real) => void }[] = [
  {
    // Invariant 1: no committable offset passes an unfinished record delivered in the partition's epoch.
    name: 'invariant 1: committable never passes an unfinished delivered record',
    check: (m, r) => {
      for (const c of r.tracker.committable()) {
        const lane = m.lanes.find((l) => l.topic === c.topic && l.partition === c.partition)!
        for (const rec of lane.records) {
          if (!rec.finished) expect(Number(c.offset), 'passes unfinished ' + rec.offset).to.be.at.most(rec.offset)
        }
      }
    },
  },
  {
    // The committable offsets equal the model's longest finished prefix (advance positions included).
    name: "committable equals the model's longest finished prefix",
    check: (m, r) => {
      expect(sorted(r.tracker.committable())).to.deep.equal(sorted(m.committable()))
    },
  },
  {
    // Zero lag: with every delivered record finished, committable is last offset + 1 or the advance position.
    name: 'zero lag once everything delivered is finished',
    check: (m, r) => {
      const progress = r.tracker.partitions()
      for (const lane of m.lanes) {
        if (!lane.owned || lane.position < 0 || lane.records.some((x) => !x.finished)) continue
        const p = progress.find((x) => x.topic === lane.topic && x.partition === lane.partition)!
        expect(p.committable, `${lane.topic}/${lane.partition}`).to.equal(String(lane.position))
      }
    },
  },
  {
    // inFlight counts delivered-not-finished records of owned and retired partitions alike.
    name: 'inFlight equals the model across revokes and epochs',
    check: (m, r) => {
      expect(r.tracker.inFlight).to.equal(m.inFlight())
      const perLane = r.tracker.partitions().map((p) => [p.topic, p.partition, p.inFlight])
      const modelLanes = m.lanes.filter((l) => l.owned)
        .map((l) => [l.topic, l.partition, l.records.filter((x) => !x.finished).length])
      expect(perLane.sort()).to.deep.equal(modelLanes.sort())
    },
  },
  {
    // Within an epoch the committed offset never decreases, and anything committable is beyond it.
    name: 'committed never decreases',
    check: (m, r) => {
      for (const p of r.tracker.partitions()) {
        if (p.committed === undefined) continue
        const key = `${p.topic}/${p.partition}/${p.epoch}`
        const before = r.committedSeen.get(key) ?? -1
        expect(Number(p.committed), key).to.be.at.least(before)
        r.committedSeen.set(key, Number(p.committed))
      }
      for (const c of r.tracker.committable()) {
        const p = r.tracker.partitions().find((x) => x.topic === c.topic && x.partition === c.partition)!
        if (p.committed !== undefined) expect(Number(c.offset)).to.be.above(Number(p.committed))
      }
      void m
    },
  },
  {
    // Invariant 6: only owned partitions, in their current epoch, are ever committable.
    name: 'invariant 6: nothing committable for revoked partitions or stale epochs',
    check: (m, r) => {
      for (const c of r.tracker.committable()) {
        const lane = m.lanes.find((l) => l.topic === c.topic && l.partition === c.partition)!
        expect(lane.owned, `${c.topic}/${c.partition} not owned`).to.equal(true)
        expect(c.epoch).to.equal(lane.epoch)
        expect(r.tracker.epochOf(c.topic, c.partition)).to.equal(lane.epoch)
      }
      for (const lane of m.lanes) {
        expect(r.tracker.epochOf(lane.topic, lane.partition)).to.equal(lane.owned ? lane.epoch : undefined)
      }
    },
  },
]

abstract class Cmd implements fc.Command<Model, Real> {
  check(): boolean {
    return true
  }
  run(m: Model, r: Real): void {
    this.apply(m, r)
    r.check(m, r)
  }
  abstract apply(m: Model, r: Real): void
  abstract toString(): string
}

/** Delivers the next record of a lane, `gap` offsets past its position; a new epoch when not owned. */
class DeliverCmd extends Cmd {
  constructor(readonly lane: number, readonly gap: number, readonly newEpoch: boolean) { super() }
  apply(m: Model, r: Real): void {
    const lane = m.lanes[this.lane]
    if (!lane.owned || this.newEpoch) {
      // A (re-)assignment: kafkajs starts reading at the broker's committed offset again.
      lane.owned = true
      lane.epoch = lane.everDelivered ? lane.epoch + 1 : 1
      // Unfinished records of the old epoch stay in flight, in `all`.
      lane.records = []
      lane.marks = []
      lane.position = -1
      lane.committed = -1
    }
    const offset = (lane.position < 0 ? lane.brokerCommitted : lane.position) + this.gap
    const rec: MRecord = {
      origin: { topic: lane.topic, partition: lane.partition, offset: String(offset), seq: lane.records.length, epoch: lane.epoch },
      offset,
      finished: false,
    }
    r.tracker.deliver(rec.origin)
    if (lane.position < 0) lane.committed = offset
    lane.records.push(rec)
    lane.marks.push({ record: rec })
    lane.position = offset + 1
    lane.everDelivered = true
    m.all.push(rec)
  }
  toString(): string {
    return `deliver(lane ${this.lane}, gap ${this.gap}${this.newEpoch ? ', new epoch' : ''})`
  }
}

/** Finishes some record ever delivered (any epoch, maybe already finished), or one never delivered. */
class FinishCmd extends Cmd {
  constructor(readonly pick: number, readonly bogus: boolean) { super() }
  apply(m: Model, r: Real): void {
    if (this.bogus || m.all.length === 0) {
      const lane = m.lanes[this.pick % m.lanes.length]
      const ghost = { topic: lane.topic, partition: lane.partition, offset: '0', seq: 1000 + this.pick % 3, epoch: lane.epoch + (this.pick % 2) }
      const before = m.inFlight()
      expect(r.tracker.finish(ghost)).to.equal(false)
      expect(r.tracker.inFlight).to.equal(before)
      return
    }
    const rec = m.all[this.pick % m.all.length]
    const lane = m.lanes.find((l) => l.topic === rec.origin.topic && l.partition === rec.origin.partition)!
    const counts = lane.owned && lane.epoch === rec.origin.epoch && !rec.finished
    expect(r.tracker.finish(rec.origin), 'finish() result').to.equal(counts)
    rec.finished = true
  }
  toString(): string {
    return this.bogus ? `finish(undelivered ${this.pick})` : `finish(#${this.pick})`
  }
}

class AdvanceCmd extends Cmd {
  constructor(readonly lane: number, readonly by: number, readonly staleEpoch: boolean) { super() }
  apply(m: Model, r: Real): void {
    const lane = m.lanes[this.lane]
    const base = lane.position < 0 ? lane.brokerCommitted : lane.position
    const next = base + this.by
    const epoch = this.staleEpoch ? lane.epoch - 1 : lane.epoch
    r.tracker.advance(lane.topic, lane.partition, epoch, String(next))
    if (lane.owned && !this.staleEpoch && next > lane.position) {
      lane.position = next
      lane.marks.push({ position: next })
    }
  }
  toString(): string {
    return `advance(lane ${this.lane}, +${this.by}${this.staleEpoch ? ', stale epoch' : ''})`
  }
}

class RevokeCmd extends Cmd {
  constructor(readonly lane: number | 'all') { super() }
  apply(m: Model, r: Real): void {
    if (this.lane === 'all') r.tracker.revokeAll()
    else {
      const lane = m.lanes[this.lane]
      r.tracker.revoke(lane.topic, lane.partition)
    }
    for (const [i, lane] of m.lanes.entries()) {
      if (this.lane !== 'all' && this.lane !== i) continue
      lane.owned = false
      lane.records = []
      lane.marks = []
    }
  }
  toString(): string {
    return `revoke(${this.lane})`
  }
}

/** Commits what is committable (the broker acknowledges), or replays an older or stale-epoch commit. */
class CommitCmd extends Cmd {
  constructor(readonly kind: 'current' | 'older' | 'staleEpoch') { super() }
  apply(m: Model, r: Real): void {
    const offsets = r.tracker.committable()
    if (this.kind === 'current') {
      r.tracker.committed(offsets)
      for (const o of offsets) {
        const lane = m.lanes.find((l) => l.topic === o.topic && l.partition === o.partition)!
        lane.committed = Number(o.offset)
        lane.brokerCommitted = Number(o.offset)
      }
      expect(r.tracker.committable()).to.deep.equal([])
      return
    }
    const replay = m.lanes.filter((l) => l.committed >= 0).map((l) => ({
      topic: l.topic,
      partition: l.partition,
      offset: String(this.kind === 'older' ? Math.max(0, l.committed - 1) : l.committed + 5),
      epoch: this.kind === 'older' ? l.epoch : l.epoch - 1,
    }))
    r.tracker.committed(replay) // must be ignored by the model's rules: nothing changes
  }
  toString(): string {
    return `commit(${this.kind})`
  }
}

const lane = fc.nat({ max: LANES.length - 1 })
const COMMANDS = [
  fc.tuple(lane, fc.nat({ max: 3 }), fc.boolean()).map(([l, gap, e]) => new DeliverCmd(l, gap, e && gap === 3)),
  fc.tuple(lane, fc.nat({ max: 3 })).map(([l, gap]) => new DeliverCmd(l, gap, false)),
  fc.tuple(fc.nat(), fc.boolean()).map(([pick, b]) => new FinishCmd(pick, b && pick % 7 === 0)),
  fc.nat().map((pick) => new FinishCmd(pick, false)),
  fc.tuple(lane, fc.nat({ max: 3 }), fc.boolean()).map(([l, by, s]) => new AdvanceCmd(l, by, s && by === 3)),
  fc.oneof(lane, fc.constant('all' as const)).map((l) => new RevokeCmd(l)),
  fc.constantFrom('current', 'current', 'older', 'staleEpoch').map((k) => new CommitCmd(k as CommitCmd['kind'])),
]

describe('OffsetTracker', () => {
  describe('deliver / finish / committable', () => {
    it('commits just past the longest finished prefix, whatever order records finish in', () => {
      const t = new OffsetTracker()
      const r = [origin(10, 0), origin(11, 1), origin(14, 2), origin(15, 3)]
      r.forEach((x) => t.deliver(x))
      expect(t.finish(r[1])).to.equal(true)
      expect(t.committable()).to.deep.equal([]) // offset 10 still running
      expect(t.finish(r[0])).to.equal(true)
      expect(t.committable()).to.deep.equal([{ topic: 't', partition: 0, offset: '12', epoch: 1 }])
      expect(t.finish(r[3])).to.equal(true)
      expect(t.committable()[0].offset).to.equal('12') // 14 still running: never past it
      expect(t.finish(r[2])).to.equal(true)
      expect(t.committable()[0].offset).to.equal('16')
    })

    // Catches reporting the first delivered offset as committed before any commit (issue 15).
    it('reports "committed" only once acknowledged; nothing is committable before a finish', () => {
      const t = new OffsetTracker()
      t.deliver(origin(100, 0))
      expect(t.committable()).to.deep.equal([])
      expect(t.partitions()[0]).to.include({ committed: undefined, committable: undefined, lastDeliveredOffset: '100' })
      t.committed([{ topic: 't', partition: 0, offset: '100', epoch: 1 }])
      expect(t.partitions()[0]).to.include({ committed: '100', committable: undefined })
    })

    it('returns false and changes nothing for unknown, undelivered, finished or stale records', () => {
      const t = new OffsetTracker()
      t.deliver(origin(0, 0))
      expect(t.finish(origin(0, 0, 1, 0, 'other'))).to.equal(false)
      expect(t.finish(origin(0, 0, 1, 3))).to.equal(false)
      expect(t.finish(origin(1, 1))).to.equal(false) // not delivered
      expect(t.finish(origin(0, 0, 2))).to.equal(false) // newer epoch, not delivered
      expect(t.finish(origin(0, 0.5))).to.equal(false)
      expect(t.finish(origin(0, 0))).to.equal(true)
      expect(t.finish(origin(0, 0))).to.equal(false) // already finished
      expect(t.inFlight).to.equal(0)
    })

    it('keeps prefix order across ring-buffer growth (many records, finished backwards)', () => {
      const t = new OffsetTracker()
      const n = 1000
      for (let s = 0; s < n; s++) t.deliver(origin(2 * s, s))
      for (let s = n - 1; s >= 1; s--) t.finish(origin(2 * s, s))
      expect(t.committable()).to.deep.equal([])
      expect(t.inFlight).to.equal(1)
      t.finish(origin(0, 0))
      expect(t.committable()[0].offset).to.equal(String(2 * (n - 1) + 1))
      // Reuse of ring slots after the head moved on.
      for (let s = n; s < 3 * n; s++) {
        t.deliver(origin(2 * s, s))
        t.finish(origin(2 * s, s))
      }
      expect(t.committable()[0].offset).to.equal(String(2 * (3 * n - 1) + 1))
    })

    it('reports the age of the oldest unfinished record from the given clock', () => {
      let now = 1000
      const t = new OffsetTracker({ now: () => now })
      t.deliver(origin(0, 0))
      now = 1500
      t.deliver(origin(1, 1))
      now = 2000
      expect(t.partitions()[0].oldestUnfinishedAgeMs).to.equal(1000)
      t.finish(origin(0, 0))
      expect(t.partitions()[0].oldestUnfinishedAgeMs).to.equal(500)
      t.finish(origin(1, 1))
      expect(t.partitions()[0].oldestUnfinishedAgeMs).to.equal(undefined)
    })

    it('tracks partitions and topics independently', () => {
      const t = new OffsetTracker()
      t.deliver(origin(5, 0, 1, 0, 'a'))
      t.deliver(origin(7, 0, 3, 2, 'a'))
      t.deliver(origin(9, 0, 1, 0, 'b'))
      t.finish(origin(7, 0, 3, 2, 'a'))
      t.finish(origin(9, 0, 1, 0, 'b'))
      expect(t.committable()).to.deep.equal([
        { topic: 'a', partition: 2, offset: '8', epoch: 3 },
        { topic: 'b', partition: 0, offset: '10', epoch: 1 },
      ])
      expect(t.epochOf('a', 2)).to.equal(3)
      expect(t.epochOf('a', 1)).to.equal(undefined)
      expect(t.inFlight).to.equal(1)
    })
  })

  describe('validation', () => {
    it('rejects a seq out of order, a first seq other than 0, and offsets that do not increase', () => {
      const t = new OffsetTracker()
      expect(() => t.deliver(origin(0, 1))).to.throw(RangeError, /seq 0/)
      t.deliver(origin(5, 0))
      expect(() => t.deliver(origin(6, 2))).to.throw(RangeError, /expected seq 1/)
      expect(() => t.deliver(origin(5, 1))).to.throw(RangeError, /not beyond/)
      expect(() => t.deliver(origin(4, 1))).to.throw(RangeError, /not beyond/)
      t.deliver(origin(6, 1))
      expect(t.inFlight).to.equal(2)
    })

    it('rejects malformed and unsafe offsets rather than rounding them', () => {
      const t = new OffsetTracker()
      for (const bad of ['', ' 1', '-1', '1.5', '0x10', '1e3', 'abc', '9007199254740993']) {
        expect(() => t.deliver(origin(bad, 0)), bad).to.throw(RangeError)
      }
      t.deliver(origin('9007199254740990', 0))
      t.finish(origin('9007199254740990', 0))
      expect(t.committable()[0].offset).to.equal('9007199254740991')
      expect(() => t.advance('t', 0, 1, '9007199254740992')).to.throw(RangeError)
    })

    it('rejects an older or retired epoch and bad partitions', () => {
      const t = new OffsetTracker()
      t.deliver(origin(0, 0, 5))
      expect(() => t.deliver(origin(1, 0, 4))).to.throw(RangeError, /stale/)
      t.revoke('t', 0)
      expect(() => t.deliver(origin(1, 1, 5))).to.throw(RangeError, /stale/)
      expect(() => t.deliver(origin(0, 0, 1, -1))).to.throw(RangeError, /partition/)
      expect(() => t.deliver(origin(0, 0, 1, 1.5))).to.throw(RangeError, /partition/)
      expect(() => new OffsetTracker({ now: 5 as unknown as () => number })).to.throw(TypeError)
    })
  })

  describe('openAt', () => {
    it('opens an epoch nothing was delivered in at a position past markers, which later records then hold', () => {
      const t = new OffsetTracker()
      t.openAt('t', 0, 3, '9') // markers 7..8 fetched alone in epoch 3
      expect(t.committable()).to.deep.equal([{ topic: 't', partition: 0, offset: '9', epoch: 3 }])
      t.deliver(origin(9, 0, 3))
      t.deliver(origin(10, 1, 3))
      t.finish(origin(10, 1, 3))
      expect(t.committable()[0]!.offset).to.equal('9')
      t.finish(origin(9, 0, 3))
      expect(t.committable()[0]!.offset).to.equal('11')
    })

    it('is ignored for an epoch older than the latest, and advances the current one', () => {
      const t = new OffsetTracker()
      t.deliver(origin(0, 0, 5))
      t.openAt('t', 0, 4, '9')
      expect(t.epochOf('t', 0)).to.equal(5)
      t.finish(origin(0, 0, 5))
      t.openAt('t', 0, 5, '7')
      expect(t.committable()[0]!.offset).to.equal('7')
    })

    it('never makes an offset committable past an unfinished record: any openAt, deliveries, finishes and advances (300 runs)', () => {
      // Mutation caught: openAt setting the watermark on a current epoch instead of advancing it (it would
      // carry the commit past a delivered record still running); and openAt that opens nothing (the
      // committable offset then misses the position the markers reached).
      fc.assert(
        fc.property(
          fc.nat(20), fc.array(fc.record({ gap: fc.nat(3), finish: fc.boolean() }), { maxLength: 12 }), fc.nat(3), fc.nat(5),
          (start, records, advanceBy, openAgainBy) => {
            const t = new OffsetTracker()
            t.openAt('t', 0, 1, String(start))
            let offset = start
            const delivered: { offset: number; finished: boolean }[] = []
            records.forEach((r, seq) => {
              offset += r.gap
              t.deliver(origin(offset, seq))
              delivered.push({ offset, finished: r.finish })
              offset++
            })
            const end = offset + advanceBy
            t.advance('t', 0, 1, String(end))
            t.openAt('t', 0, 1, String(end + openAgainBy))
            delivered.forEach((d, seq) => d.finished && t.finish(origin(d.offset, seq)))
            // The longest finished prefix: up to the record before the first unfinished one (the gap before a
            // record goes with it), else up to the last position reached.
            const stop = delivered.findIndex((d) => !d.finished)
            const expected = stop === -1 ? end + openAgainBy : stop === 0 ? start : delivered[stop - 1]!.offset + 1
            // The epoch opened at `start`, so something is always committable: the longest finished prefix.
            expect(t.committable().map((o) => Number(o.offset))).to.deep.equal([expected])
          },
        ),
        { numRuns: 300 },
      )
    })
  })

  describe('advance', () => {
    it('lets a fully finished partition reach zero lag over offsets that were never delivered', () => {
      const t = new OffsetTracker()
      t.deliver(origin(10, 0))
      t.advance('t', 0, 1, '20') // transaction markers 11..19
      expect(t.committable()).to.deep.equal([])
      t.finish(origin(10, 0))
      expect(t.committable()[0].offset).to.equal('20')
      t.advance('t', 0, 1, '25')
      expect(t.committable()[0].offset).to.equal('25')
    })

    it('never lets an advance carry the commit past a record delivered before it', () => {
      const t = new OffsetTracker()
      t.deliver(origin(10, 0))
      t.deliver(origin(11, 1))
      t.advance('t', 0, 1, '20')
      t.finish(origin(11, 1))
      expect(t.committable()).to.deep.equal([])
      t.finish(origin(10, 0))
      expect(t.committable()[0].offset).to.equal('20')
    })

    it('counts an advance as finished progress between records', () => {
      const t = new OffsetTracker()
      t.deliver(origin(10, 0))
      t.advance('t', 0, 1, '15')
      t.deliver(origin(15, 1))
      t.finish(origin(10, 0))
      // Everything below 15 is either finished (10) or does not exist (11..14).
      expect(t.committable()[0].offset).to.equal('15')
    })

    it('is ignored when not beyond the position, for stale epochs and unknown partitions', () => {
      const t = new OffsetTracker()
      t.deliver(origin(10, 0))
      t.finish(origin(10, 0))
      t.advance('t', 0, 1, '11')
      t.advance('t', 0, 1, '5')
      t.advance('t', 0, 0, '50')
      t.advance('t', 1, 1, '50')
      t.advance('u', 0, 1, '50')
      expect(t.committable()).to.deep.equal([{ topic: 't', partition: 0, offset: '11', epoch: 1 }])
      expect(t.partitions()).to.have.length(1)
    })

    it('rejects a record below the advanced position', () => {
      const t = new OffsetTracker()
      t.deliver(origin(10, 0))
      t.advance('t', 0, 1, '20')
      expect(() => t.deliver(origin(15, 1))).to.throw(RangeError, /advanced position/)
    })

    it('starts a re-assigned partition over from its first record in the new epoch', () => {
      const t = new OffsetTracker()
      t.deliver(origin(3, 0, 1, 0))
      t.revoke('t', 0)
      t.deliver(origin(3, 0, 2, 0)) // re-assigned; nothing known of epoch 2 before its first record
      t.finish(origin(3, 0, 2, 0))
      expect(t.committable()[0]).to.deep.equal({ topic: 't', partition: 0, offset: '4', epoch: 2 })
    })
  })

  describe('committed', () => {
    it('never moves backwards and ignores retired epochs', () => {
      const t = new OffsetTracker()
      t.deliver(origin(0, 0))
      t.deliver(origin(1, 1))
      t.finish(origin(0, 0))
      t.committed(t.committable())
      expect(t.committable()).to.deep.equal([])
      t.committed([{ topic: 't', partition: 0, offset: '0', epoch: 1 }])
      expect(t.partitions()[0].committed).to.equal('1')
      t.committed([{ topic: 't', partition: 0, offset: '99', epoch: 0 }])
      t.committed([{ topic: 'x', partition: 0, offset: '99', epoch: 1 }])
      expect(t.partitions()[0].committed).to.equal('1')
      t.finish(origin(1, 1))
      expect(t.committable()[0].offset).to.equal('2')
    })
  })

  describe('revoke and epochs', () => {
    it('stops counting a revoked partition toward commits but keeps its records in flight until they finish', () => {
      const released: number[] = []
      const t = new OffsetTracker({ onRelease: (n) => released.push(n) })
      t.deliver(origin(0, 0))
      t.deliver(origin(1, 1))
      t.finish(origin(0, 0))
      t.revoke('t', 0)
      expect(t.committable()).to.deep.equal([])
      expect(t.partitions()).to.deep.equal([])
      expect(t.epochOf('t', 0)).to.equal(undefined)
      expect(t.inFlight).to.equal(1)
      expect(t.finish(origin(1, 1))).to.equal(false) // no commit state changes...
      expect(t.inFlight).to.equal(0) // ...but the budget is released, once
      expect(t.finish(origin(1, 1))).to.equal(false)
      expect(t.inFlight).to.equal(0)
      expect(released).to.deep.equal([1, 0])
    })

    it('re-assigns implicitly on a newer epoch, whose records replace the old ones', () => {
      const t = new OffsetTracker()
      t.deliver(origin(0, 0, 1))
      t.deliver(origin(1, 1, 1))
      t.deliver(origin(0, 0, 2)) // redelivered from the committed offset after a rebalance
      expect(t.epochOf('t', 0)).to.equal(2)
      expect(t.inFlight).to.equal(3)
      expect(t.finish(origin(1, 1, 1))).to.equal(false)
      expect(t.finish(origin(0, 0, 1))).to.equal(false)
      expect(t.committable()).to.deep.equal([])
      expect(t.finish(origin(0, 0, 2))).to.equal(true)
      expect(t.committable()).to.deep.equal([{ topic: 't', partition: 0, offset: '1', epoch: 2 }])
      expect(t.inFlight).to.equal(0)
    })

    it('revokeAll revokes every partition of every topic', () => {
      const t = new OffsetTracker()
      t.deliver(origin(0, 0, 1, 0, 'a'))
      t.deliver(origin(0, 0, 1, 1, 'b'))
      t.finish(origin(0, 0, 1, 0, 'a'))
      t.revokeAll()
      expect(t.committable()).to.deep.equal([])
      expect(t.partitions()).to.deep.equal([])
      expect(t.inFlight).to.equal(1)
    })
  })

  describe('trackDelivery', () => {
    it('delivers each record as it passes, and errors (delivering nothing more) on a refused record', () => {
      const t = new OffsetTracker()
      const seen: RecordOrigin[] = []
      let error: unknown
      const records = [origin(0, 0), origin(1, 1), origin(2, 3), origin(3, 2)] // seq 3 comes too early
      from(records).pipe(trackDelivery(t)).subscribe({ next: (r) => seen.push(r), error: (e) => (error = e) })
      expect(seen).to.deep.equal(records.slice(0, 2))
      expect(error).to.be.instanceOf(RangeError)
      expect(t.partitions()[0].delivered).to.equal(2)
    })
  })

  describe('model-based', () => {
    // Mutations seen to fail (each applied temporarily to lib/, run, restored), and the properties they broke:
    // - finish() moves the watermark to any finished record's reach, not only along the finished prefix:
    //   "invariant 1", "equals the model".
    // - advance() moves the watermark while records are still unfinished: "invariant 1", "equals the
    //   model", "zero lag".
    // - advance() ignored: "equals the model", "zero lag".
    // - a retired epoch's finish() releases no in-flight budget: "inFlight" (and the in-command check of
    //   inFlight after an undelivered finish, so every property).
    // - a retired epoch's finish() releases the budget twice: "inFlight", "invariant 1", "zero lag".
    // - no already-finished check in finish(): "inFlight", "invariant 1", "zero lag", "committed never
    //   decreases".
    // - committed() accepts an offset below the last committed: "committed never decreases".
    // - committed() ignores the epoch (a stale epoch's commit applied): "equals the model".
    // - revoke() leaves the partition current: "invariant 6" (and every other model property).
    // - committable() lists a partition whose watermark equals its committed offset: "committed never
    //   decreases", "equals the model".
    for (const inv of INVARIANTS) {
      it(inv.name, () => {
        fc.assert(
          fc.property(fc.commands(COMMANDS, { maxCommands: 60 }), (cmds) => {
            fc.modelRun(() => ({ model: new Model(), real: new Real(inv.check) }), cmds)
          }),
          { numRuns: 500 },
        )
      })
    }
  })
})

