import { expect } from 'chai'
import fc from 'fast-check'
import { VirtualTimeScheduler } from 'rxjs'
import { Drain, DrainTimeoutError } from '../lib/source/drain'
import { fromKafka } from '../lib/source/from-kafka'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { FakeConsumer } from './fixtures/fake-consumer'

const origin = (partition: number, offset: number, seq: number) => ({ topic: 't', partition, offset: String(offset), seq, epoch: 1 })

describe('DrainTimeoutError', () => {
  it('names the unfinished records and, per partition, where the commit stops', () => {
    const tracker = new OffsetTracker()
    for (let i = 0; i < 4; i++) tracker.deliver(origin(0, 10 + i, i))
    tracker.deliver(origin(1, 7, 0))
    tracker.finish(origin(0, 10, 0))
    tracker.finish(origin(0, 12, 2)) // 11 still runs: the commit stops at 11
    const error = DrainTimeoutError.of(tracker, 500)
    expect(error).to.be.instanceOf(Error)
    expect(error.name).to.equal('DrainTimeoutError')
    expect(error.unfinished).to.equal(3)
    expect(error.partitions).to.deep.equal([
      { topic: 't', partition: 0, unfinished: 2, from: '11', committed: undefined },
      { topic: 't', partition: 1, unfinished: 1, from: '7', committed: undefined }, // nothing finished: its oldest unfinished
    ])
    expect(error.message).to.equal(
      'fromKafka: 3 records still unfinished 500 ms after abort ' +
        '(t[0]: 2 from offset 11, nothing committed; t[1]: 1 from offset 7, nothing committed); no commit passes them',
    )
  })

  // Catches the error claiming a commit the broker never acknowledged (issue 15: "committed up to them"
  // with committed offset -1): `committed` and the message come from acknowledged commits only.
  it('names only the commits the broker acknowledged', () => {
    const tracker = new OffsetTracker()
    tracker.deliver(origin(0, 10, 0))
    tracker.deliver(origin(0, 11, 1))
    tracker.deliver(origin(1, 7, 0))
    tracker.committed([{ topic: 't', partition: 0, offset: '10', epoch: 1 }]) // the start position, say
    tracker.finish(origin(0, 10, 0))
    const error = DrainTimeoutError.of(tracker, 500)
    expect(error.partitions).to.deep.equal([
      { topic: 't', partition: 0, unfinished: 1, from: '11', committed: '10' }, // 11 is committable, not committed
      { topic: 't', partition: 1, unfinished: 1, from: '7', committed: undefined },
    ])
    expect(error.message).to.contain('t[0]: 1 from offset 11, committed 10; t[1]: 1 from offset 7, nothing committed')
  })

  it('counts the records of revoked partitions apart', () => {
    const tracker = new OffsetTracker()
    tracker.deliver(origin(0, 3, 0))
    tracker.revokeAll()
    const error = DrainTimeoutError.of(tracker, 10)
    expect(error.partitions).to.deep.equal([])
    expect(error.message).to.match(/1 records still unfinished 10 ms after abort \(1 of revoked partitions\)/)
  })
})

describe('fromKafka signal / drainTimeout options', () => {
  it('rejects invalid ones at call time', () => {
    const fake = new FakeConsumer()
    expect(() => fromKafka(fake, { topics: ['t'], signal: {} as AbortSignal })).to.throw(TypeError, /signal/)
    for (const drainTimeout of [-1, NaN, Infinity, 2 ** 31, '5' as unknown as number]) {
      expect(() => fromKafka(fake, { topics: ['t'], drainTimeout }), String(drainTimeout)).to.throw(RangeError, /drainTimeout/)
    }
    expect(() => fromKafka(fake, { topics: ['t'], signal: new AbortController().signal, drainTimeout: 0 })).to.not.throw()
  })
})

// Property: after an abort, the drain ends exactly once, drained iff every delivered record finished by the
// timeout; on a timeout the error counts exactly the unfinished records and, per partition, names the
// oldest unfinished offset, which no committable offset passes.
// Mutations caught: `from: committed` instead of `committable ?? committed` in DrainTimeoutError.of;
// `inFlight <= 1` instead of `=== 0` in Drain.released (ends drained with one record still running).
describe('Drain with an OffsetTracker (property)', () => {
  // Per partition a dense run of offsets from `base`; each record finishes at a time, or never (null).
  const arbitraryCase = fc.record({
    partitions: fc.array(fc.record({
      base: fc.nat(20),
      finishes: fc.array(fc.option(fc.nat(30), { nil: null }), { maxLength: 8 }),
    }), { minLength: 1, maxLength: 3 }),
    abortAt: fc.nat(20),
    timeout: fc.integer({ min: 1, max: 20 }),
  })

  it('ends once, drained iff all finished in time; a timeout names exactly what is unfinished', () => {
    fc.assert(fc.property(arbitraryCase, ({ partitions, abortAt, timeout }) => {
      const scheduler = new VirtualTimeScheduler()
      const tracker = new OffsetTracker({ now: () => scheduler.now() })
      const ends: { drained: boolean; at: number; error?: DrainTimeoutError }[] = []
      let committableAtEnd: { partition: number; offset: string }[] = []
      let drain!: Drain
      drain = new Drain(() => tracker.inFlight, timeout, (drained) => {
        committableAtEnd = tracker.committable()
        ends.push({ drained, at: scheduler.now(), ...(drained ? {} : { error: DrainTimeoutError.of(tracker, timeout) }) })
      }, scheduler)
      const released = (inFlight: number): void => drain.released(inFlight)
      partitions.forEach(({ base, finishes }, p) => {
        finishes.forEach((t, seq) => {
          const o = origin(p, base + seq, seq)
          tracker.deliver(o)
          if (t !== null) {
            scheduler.schedule(() => {
              tracker.finish(o)
              released(tracker.inFlight)
            }, t)
          }
        })
      })
      scheduler.schedule(() => drain.start(), abortAt)
      scheduler.flush()

      const all = partitions.flatMap(({ finishes }) => finishes)
      const last = all.some((t) => t === null) ? Infinity : Math.max(abortAt, ...all.map((t) => t as number))
      expect(ends.length).to.equal(1)
      const [end] = ends
      if (last <= abortAt + timeout) {
        expect(end).to.deep.equal({ drained: true, at: last })
        return
      }
      expect(end!.drained).to.equal(false)
      expect(end!.at).to.equal(abortAt + timeout)
      const late = (t: number | null): boolean => t === null || t > abortAt + timeout
      expect(end!.error!.unfinished).to.equal(all.filter(late).length)
      const expected = partitions.flatMap(({ base, finishes }, partition) => {
        const unfinished = finishes.filter(late).length
        const oldest = finishes.findIndex(late)
        return unfinished === 0 ? [] : [{ topic: 't', partition, unfinished, from: String(base + oldest), committed: undefined }]
      })
      expect(end!.error!.partitions).to.deep.equal(expected)
      for (const c of committableAtEnd) {
        const u = expected.find((e) => e.partition === c.partition)
        if (u !== undefined) expect(Number(c.offset)).to.be.at.most(Number(u.from))
      }
    }), { numRuns: 500 })
  })
})
