import { expect } from 'chai'
import { NEVER, type Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { commitOffsets, type Commit, type CommitOffsetsOptions, type CommitTarget } from '../operators/commit-offsets'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import type { TrackedCommitOffset } from '../lib/record/record'
import { recordBuilder, type RecordSpec, type TestRecord } from '../lib/testing/records'

/** Records built (and delivered to a fresh tracker) in the order given, so seqs are dense per partition. */
function delivered<L extends string>(tracker: OffsetTracker, ...specs: [L, RecordSpec][]): Record<L, TestRecord> {
  const make = recordBuilder({ topic: 't' })
  const out = {} as Record<L, TestRecord>
  for (const [letter, spec] of specs) {
    out[letter] = make(spec)
    tracker.deliver(out[letter])
  }
  return out
}

/** 'p:offset' per partition, e.g. off('0:3', '1:7'), for epoch-0 records of topic 't'. */
const off = (...parts: string[]): TrackedCommitOffset[] =>
  parts.map((s) => {
    const [partition, offset] = s.split(':')
    return { topic: 't', partition: Number(partition), offset, epoch: 0 }
  })

const commit = (time: number, reason: Commit['reason'], attempts: number, ...parts: string[]): Commit =>
  ({ offsets: off(...parts), attempts, time, reason })

describe('commitOffsets (marbles)', () => {
  let scheduler: TestScheduler
  let tracker: OffsetTracker
  /** Every commit() call: when it was sent and what it named. */
  let sent: { time: number; offsets: TrackedCommitOffset[] }[]

  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected)
    })
    tracker = new OffsetTracker({ now: () => scheduler.now() })
    sent = []
  })

  /** A commit target whose n-th commit() call (1-based) answers with `reply(n)`. */
  const target = (reply: (n: number) => Observable<unknown>): CommitTarget => ({
    tracker,
    commit: (offsets) => {
      sent.push({ time: scheduler.now(), offsets: [...offsets] })
      return reply(sent.length)
    },
  })

  const opts = (o: CommitOffsetsOptions<TestRecord>): CommitOffsetsOptions<TestRecord> => ({ scheduler, ...o })

  it('collapses finished records into at most one commit per interval, timed from the first progress', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}], ['c', {}], ['d', {}], ['e', {}], ['f', {}])
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a-b-c-d-e-f------|', v).pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 5 })))
      // Sent at 5 (a..c), acked at 8; d (at 6) re-arms the timer: sent at 11 (d..f), acked at 14.
      expectObservable(out).toBe('--------x-----y--|', {
        x: commit(8, 'interval', 1, '0:3'),
        y: commit(14, 'interval', 1, '0:6'),
      })
    })
    expect(sent.map((s) => s.time)).to.deep.equal([5, 11])
  })

  it('commits early once maxUncommitted records finished, and cancels the pending interval', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}], ['c', {}], ['d', {}], ['e', {}], ['f', {}])
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('abc---def-----|', v).pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 100, maxUncommitted: 3 })))
      expectObservable(out).toBe('-----x-----y--|', {
        x: commit(5, 'batch', 1, '0:3'),
        y: commit(11, 'batch', 1, '0:6'),
      })
    })
    expect(sent.map((s) => s.time)).to.deep.equal([2, 8])
  })

  it('commits nothing when idle, nor when the finished records do not move the watermark', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}])
    scheduler.run(({ cold, expectObservable }) => {
      // b finishes but a (before it) never does: the timer fires at 5 and finds nothing to commit.
      const out = cold('b------------------------', v).pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 5 })))
      expectObservable(out, '^-----------------------!').toBe('-')
      expectObservable(NEVER.pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 5 }))), '^---------!').toBe('-')
    })
    expect(sent).to.deep.equal([])
  })

  it('commits only partitions that progressed, each strictly beyond its last commit', () => {
    const v = delivered(tracker, ['a', { partition: 0 }], ['b', { partition: 1 }], ['c', { partition: 1 }], ['d', { partition: 0 }])
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('ab--------c---------|', v).pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 5 })))
      expectObservable(out).toBe('--------x---------y-|', {
        x: commit(8, 'interval', 1, '0:1', '1:1'),
        y: commit(18, 'interval', 1, '1:2'), // partition 0 waits for d: not committed again at 1
      })
    })
  })

  it('keeps one commit in flight and merges the progress made meanwhile into the next one', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}], ['c', {}], ['d', {}], ['e', {}])
    scheduler.run(({ cold, expectObservable }) => {
      // The broker takes 10 frames; the interval (3) elapses during the commit, so the next goes at once.
      const out = cold('a-b-c-d-e-----------------|', v).pipe(
        commitOffsets(target(() => cold('----------x|')), opts({ interval: 3 })),
      )
      expectObservable(out).toBe('--------------x----------y|', {
        x: commit(14, 'interval', 1, '0:2'),
        y: commit(25, 'interval', 1, '0:5'),
      })
    })
    expect(sent.map((s) => s.time)).to.deep.equal([3, 14])
  })

  it('makes a final commit when the source completes', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}], ['c', {}])
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b|', v).pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 100 }))))
        .toBe('------(x|)', { x: commit(6, 'final', 1, '0:2') })
    })
    expect(sent.map((s) => s.time)).to.deep.equal([3])
  })

  it('waits for the commit in flight before the final commit', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}])
    scheduler.run(({ cold, expectObservable }) => {
      // The commit of a, sent at 1, is in flight when b finishes and the source completes: final goes at 4.
      expectObservable(cold('a-b|', v).pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 1 }))))
        .toBe('----x--(y|)', { x: commit(4, 'interval', 1, '0:1'), y: commit(7, 'final', 1, '0:2') })
    })
    expect(sent.map((s) => s.time)).to.deep.equal([1, 4])
  })

  it('completes at once when nothing progressed since the last commit', () => {
    delivered(tracker, ['a', {}])
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<TestRecord>('---|').pipe(commitOffsets(target(() => cold('--x|')), opts({})))).toBe('---|')
    })
    expect(sent).to.deep.equal([])
  })

  it('on unsubscribe, lets the in-flight commit finish and then commits the rest, detached', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}], ['c', {}])
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a-b-c------', v).pipe(commitOffsets(target(() => cold('---x|')), opts({ interval: 3 })))
      // Commit of a..b sent at 3 is in flight when the subscriber leaves at 5; c goes in a final commit.
      expectObservable(out, '^----!').toBe('-')
    })
    expect(sent).to.deep.equal([{ time: 3, offsets: off('0:2') }, { time: 7, offsets: off('0:3') }])
    expect(tracker.partitions()[0].committed).to.equal('3')
  })

  it('on unsubscribe with nothing in flight, sends the final commit right away', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}])
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a-b------', v).pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 50 })))
      expectObservable(out, '^---!').toBe('-')
    })
    expect(sent).to.deep.equal([{ time: 4, offsets: off('0:2') }])
    expect(tracker.partitions()[0].committed).to.equal('2')
  })

  it('retries a failed commit after the backoff, with a fresh committable that includes newer progress', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}], ['c', {}], ['d', {}])
    const backoffs: number[] = []
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a-b-------c-d-------------|', v).pipe(
        commitOffsets(target((n) => (n === 1 ? cold('--#', undefined, new Error('coordinator moved')) : cold('--x|'))), opts({
          interval: 3,
          backoff: (attempt) => (backoffs.push(attempt), 10),
        })),
      )
      // Sent at 3 (a..b), fails at 5, retried at 15 with a..d, acked at 18.
      expectObservable(out).toBe('------------------x-------|', { x: commit(18, 'interval', 2, '0:4') })
    })
    expect(sent).to.deep.equal([{ time: 3, offsets: off('0:2') }, { time: 15, offsets: off('0:4') }])
    expect(backoffs).to.deep.equal([1])
  })

  it('drops a partition revoked while a commit waits for its retry', () => {
    const v = delivered(tracker, ['a', { partition: 0 }], ['b', { partition: 1 }])
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('ab-------------|', v).pipe(
        commitOffsets(target((n) => (n === 1 ? cold('--#') : cold('--x|'))), opts({ interval: 3, backoff: () => 5 })),
      )
      scheduler.schedule(() => tracker.revoke('t', 1), 7)
      expectObservable(out).toBe('-------------x-|', { x: commit(13, 'interval', 2, '0:1') })
    })
    expect(sent.map((s) => s.offsets)).to.deep.equal([off('0:1', '1:1'), off('0:1')])
  })

  it('errors with the last failure once maxAttempts is exhausted, never skipping ahead', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}])
    const err = new Error('not coordinator')
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a-b---------', v).pipe(
        commitOffsets(target(() => cold('--#', undefined, err)), opts({ interval: 3, maxAttempts: 3, backoff: () => 1 })),
      )
      // Attempts at 3, 6, 9, each failing 2 frames later.
      expectObservable(out).toBe('-----------#', undefined, err)
    })
    expect(sent.map((s) => s.time)).to.deep.equal([3, 6, 9])
    expect(tracker.partitions()[0].committed).to.equal(undefined) // nothing acknowledged
  })

  it('on source error, commits what finished, then propagates the error', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}], ['c', {}])
    const err = new Error('poison')
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a-b-#', v, err).pipe(commitOffsets(target(() => cold('--x|')), opts({ interval: 100 })))
      expectObservable(out).toBe('-------(x#)', { x: commit(7, 'final', 1, '0:2') }, err)
    })
    expect(sent.map((s) => s.time)).to.deep.equal([4])
  })

  it('propagates the source error even when the final commit fails', () => {
    const v = delivered(tracker, ['a', {}])
    const err = new Error('poison')
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a-#', v, err).pipe(commitOffsets(target(() => cold('-#')), opts({ maxAttempts: 2, backoff: () => 1 })))
      expectObservable(out).toBe('-----#', undefined, err)
    })
    expect(sent.map((s) => s.time)).to.deep.equal([2, 4])
  })

  it('acknowledges Processed envelopes by their item (default originOf)', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}])
    scheduler.run(({ cold, expectObservable }) => {
      const envelopes = { a: { item: v.a, results: ['x'] }, b: { item: v.b, results: [] } }
      expectObservable(cold('ab|', envelopes).pipe(commitOffsets(target(() => cold('x|')), { scheduler })))
        .toBe('---(x|)', { x: commit(3, 'final', 1, '0:2') })
    })
  })

  it('takes a custom originOf', () => {
    const t2 = new OffsetTracker()
    const w = delivered(t2, ['a', {}])
    scheduler.run(({ cold, expectObservable }) => {
      const wrapped = { w: { record: w.a } }
      const out = cold('w|', wrapped).pipe(
        commitOffsets({ tracker: t2, commit: () => cold('|') }, { scheduler, originOf: (x) => x.record }),
      )
      expectObservable(out).toBe('-(x|)', { x: commit(1, 'final', 1, '0:1') })
    })
  })

  it('errors (after a final commit) when originOf throws', () => {
    const v = delivered(tracker, ['a', {}], ['b', {}], ['c', {}])
    const boom = new Error('boom')
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('ab--c', v)
      const out = source.pipe(commitOffsets(target(() => cold('x|')), {
        scheduler,
        originOf: (r) => { if (r === v.b) throw boom; return r },
      }))
      expectObservable(out).toBe('--(x#)', { x: commit(2, 'final', 1, '0:1') }, boom)
      expectSubscriptions(source.subscriptions).toBe('^!') // stopped at the throw, not after the commit
    })
  })

  it('validates its options when called', () => {
    const t = { tracker: new OffsetTracker(), commit: () => [] }
    expect(() => commitOffsets(t, { interval: -1 })).to.throw(RangeError, /interval/)
    expect(() => commitOffsets(t, { interval: Infinity })).to.throw(RangeError, /interval/)
    expect(() => commitOffsets(t, { maxUncommitted: 0 })).to.throw(RangeError, /maxUncommitted/)
    expect(() => commitOffsets(t, { maxUncommitted: 1.5 })).to.throw(RangeError, /maxUncommitted/)
    expect(() => commitOffsets(t, { maxAttempts: 0 })).to.throw(RangeError, /maxAttempts/)
    expect(() => commitOffsets(t, { backoff: 5 as never })).to.throw(TypeError, /backoff/)
    expect(() => commitOffsets(t, { originOf: 'x' as never })).to.throw(TypeError, /originOf/)
    expect(() => commitOffsets(t, { scheduler: {} as never })).to.throw(TypeError, /scheduler/)
    expect(() => commitOffsets({ tracker: t.tracker } as never)).to.throw(TypeError, /target/)
    expect(() => commitOffsets(t, { maxUncommitted: Infinity, maxAttempts: Infinity, interval: 0 })).not.to.throw()
  })
})
