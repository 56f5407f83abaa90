import { expect } from 'chai'
import fc from 'fast-check'
import {
  EMPTY, Subject, VirtualTimeScheduler, config, from, map, merge, mergeMap, tap, throwError, timer,
} from 'rxjs'
import { commitOffsets, type Commit, type CommitTarget } from '../operators/commit-offsets'
import { trackDelivery } from '../operators/track-delivery'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import type { RecordOrigin, TrackedCommitOffset } from '../lib/record/record'

// ---------------------------------------------------------------------------------------------------------
// A scenario: partitions of records with offset gaps, finished in random order at random virtual times,
// committed through a broker whose commits take random time and sometimes fail.

interface Scenario {
  partitions: { gaps: number[]; advanceBy: number }[] // offset gap before each record; advance past the last
  finishTimes: number[] // one per record, in delivery order across partitions
  replies: { latency: number; fail: boolean }[] // per commit() call, then always quick successes
  interval: number
  batchSize: number
  unsubscribeAt: number | undefined
}

const scenario: fc.Arbitrary<Scenario> = fc
  .array(fc.record({ gaps: fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 12 }), advanceBy: fc.nat({ max: 3 }) }), {
    minLength: 1,
    maxLength: 3,
  })
  .chain((partitions) => {
    const n = partitions.reduce((s, p) => s + p.gaps.length, 0)
    return fc.record({
      partitions: fc.constant(partitions),
      finishTimes: fc.array(fc.nat({ max: 60 }), { minLength: n, maxLength: n }),
      replies: fc.array(fc.record({ latency: fc.nat({ max: 12 }), fail: fc.boolean() }), { maxLength: 15 }),
      interval: fc.integer({ min: 0, max: 10 }),
      batchSize: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constant(Infinity)),
      unsubscribeAt: fc.option(fc.nat({ max: 70 }), { nil: undefined }),
    })
  })

interface Send {
  time: number
  offsets: TrackedCommitOffset[]
  /** Per partition, just past the longest finished prefix (or the advance position) when commit() was called. */
  prefix: Map<number, number>
  inFlightBefore: number
}

interface Trace {
  sends: Send[]
  commits: Commit[]
  /** For each emitted commit, how many commit() calls had been made when it was emitted. */
  sentBeforeEmit: number[]
  completed: boolean
  error: unknown
  /** Per partition, where a fully processed partition must end: last delivered + 1, or the advance position. */
  end: Map<number, number>
  tracker: OffsetTracker
}

function play(s: Scenario): Trace {
  const scheduler = new VirtualTimeScheduler()
  const tracker = new OffsetTracker({ now: () => scheduler.now() })
  const records: RecordOrigin[] = []
  const end = new Map<number, number>()
  s.partitions.forEach((p, partition) => {
    let offset = -1
    p.gaps.forEach((gap, seq) => {
      offset += 1 + gap
      records.push({ topic: 't', partition, offset: String(offset), seq, epoch: 0 })
    })
    end.set(partition, offset + 1 + p.advanceBy)
  })
  // Delivered up front (as a fetch would), in order; the advances follow each partition's last record.
  from(records).pipe(trackDelivery(tracker)).subscribe()
  s.partitions.forEach((_, partition) => tracker.advance('t', partition, 0, String(end.get(partition))))

  const finished = new Set<RecordOrigin>()
  const prefix = (): Map<number, number> => {
    const out = new Map<number, number>()
    s.partitions.forEach((_, partition) => {
      let w = -1
      let all = true
      for (const r of records.filter((x) => x.partition === partition)) {
        if (!finished.has(r)) {
          all = false
          break
        }
        w = Number(r.offset) + 1
      }
      out.set(partition, all ? end.get(partition)! : w)
    })
    return out
  }

  const trace: Trace = { sends: [], commits: [], sentBeforeEmit: [], completed: false, error: undefined, end, tracker }
  let inFlight = 0
  const target: CommitTarget = {
    tracker,
    commit: (offsets) => {
      trace.sends.push({ time: scheduler.now(), offsets: [...offsets], prefix: prefix(), inFlightBefore: inFlight })
      const reply = s.replies[trace.sends.length - 1] ?? { latency: 1, fail: false }
      inFlight++
      return timer(reply.latency, scheduler).pipe(
        mergeMap(() => (reply.fail ? throwError(() => new Error('commit failed')) : EMPTY)),
        // Answered before the operator hears of it (finalize would run only after its handlers).
        tap({ complete: () => inFlight--, error: () => inFlight-- }),
      )
    },
  }
  const finishing = merge(...records.map((r, i) => timer(s.finishTimes[i], scheduler).pipe(map(() => r)))).pipe(
    tap((r) => finished.add(r)),
  )
  const sub = finishing
    .pipe(commitOffsets(target, { interval: s.interval, maxUncommitted: s.batchSize, maxAttempts: 20, backoff: (n) => n, scheduler }))
    .subscribe({
      next: (c) => {
        trace.commits.push(c)
        trace.sentBeforeEmit.push(trace.sends.length)
      },
      error: (e) => (trace.error = e),
      complete: () => (trace.completed = true),
    })
  if (s.unsubscribeAt !== undefined) scheduler.schedule(() => sub.unsubscribe(), s.unsubscribeAt)
  scheduler.flush()
  return trace
}

const runs = { numRuns: 500 }

describe('commitOffsets (properties)', () => {
  // Mutations seen to fail, each applied temporarily, run, restored (property numbers in brackets):
  // - the tracker's finish() moves the watermark past unfinished records (no prefix rule): (1), (4).
  // - on acknowledgement tracker.committed(offsets) is not called, so the same offsets go again: (2), (4).
  // - pump() ignores `sending`: a timer or batch starts a second commit while one is in flight: (3), (2), (4).
  // - no final commit when the source completes (pump() closes at once): (4).
  // - the teardown cancels the timer but starts no detached final commit: (4).
  // (Retrying with the first attempt's offsets instead of a fresh committable(), and skipping ahead once
  // maxAttempts is exhausted, are caught by the marble tests, not by these properties.)

  it('(1) a commit never names an offset beyond the finished prefix at the time it is sent', () => {
    // Invariant 1: every offset sent is <= just past the longest finished prefix of its partition at send time.
    fc.assert(
      fc.property(scenario, (s) => {
        for (const send of play(s).sends) {
          for (const o of send.offsets) expect(Number(o.offset)).to.be.at.most(send.prefix.get(o.partition)!)
        }
      }),
      runs,
    )
  })

  it('(2) commits strictly increase per partition, and each emitted commit is what was last sent', () => {
    // Each partition's committed offsets, in emission order, strictly increase; nothing empty is sent.
    fc.assert(
      fc.property(scenario, (s) => {
        const t = play(s)
        const last = new Map<number, number>()
        for (const [i, c] of t.commits.entries()) {
          expect(c.offsets).to.not.be.empty
          // One commit in flight: what is acknowledged is the latest one sent.
          expect(c.offsets).to.deep.equal(t.sends[t.sentBeforeEmit[i] - 1].offsets)
          for (const o of c.offsets) {
            expect(Number(o.offset)).to.be.above(last.get(o.partition) ?? -1)
            last.set(o.partition, Number(o.offset))
          }
        }
        for (const send of t.sends) expect(send.offsets).to.not.be.empty
      }),
      runs,
    )
  })

  it('(3) at most one commit is in flight at a time', () => {
    // When commit() is called, no earlier commit is still unanswered.
    fc.assert(
      fc.property(scenario, (s) => {
        for (const send of play(s).sends) expect(send.inFlightBefore).to.equal(0)
      }),
      runs,
    )
  })

  it('(4) after completion the last commit of each partition is its last offset + 1 (zero lag)', () => {
    // Completed: the stream completes and every partition's last emitted commit is last delivered + 1 (or
    // the advance position). Unsubscribed: the detached commits bring the tracker there all the same.
    fc.assert(
      fc.property(scenario, (s) => {
        const t = play(s)
        expect(t.error).to.equal(undefined)
        const committed = new Map(t.tracker.partitions().map((p) => [p.partition, p.committed === undefined ? -1 : Number(p.committed)]))
        if (s.unsubscribeAt === undefined || t.completed) {
          expect(t.completed).to.equal(true)
          const last = new Map<number, number>()
          for (const c of t.commits) for (const o of c.offsets) last.set(o.partition, Number(o.offset))
          expect(last).to.deep.equal(t.end)
          expect(committed).to.deep.equal(t.end)
        } else {
          // Only what finished before the unsubscribe can be committed, and all of it must be.
          const finishedBefore = new Set(
            s.finishTimes.map((time, i) => (time <= s.unsubscribeAt! ? i : -1)).filter((i) => i >= 0),
          )
          let i = 0
          s.partitions.forEach((p, partition) => {
            let w = -1
            let all = true
            let offset = -1
            for (const gap of p.gaps) {
              offset += 1 + gap
              if (!finishedBefore.has(i++)) all = false
              else if (all) w = offset + 1
            }
            const expected = all ? t.end.get(partition)! : w
            // Before any acknowledged commit, "committed" is unknown (-1 here), never a guess.
            expect(committed.get(partition), `partition ${partition}`).to.equal(expected)
          })
        }
      }),
      runs,
    )
  })
})

describe('commitOffsets (real schedulers)', () => {
  it('commits through a Promise-returning target with the default asyncScheduler', async () => {
    const tracker = new OffsetTracker()
    const r = { topic: 't', partition: 0, offset: '41', seq: 0, epoch: 3 }
    tracker.deliver(r)
    const sent: (readonly TrackedCommitOffset[])[] = []
    const commits: Commit[] = []
    await new Promise<void>((resolve, reject) =>
      from([r]).pipe(commitOffsets({ tracker, commit: async (o) => void sent.push(o) })).subscribe({
        next: (c) => commits.push(c),
        error: reject,
        complete: resolve,
      }),
    )
    expect(sent).to.deep.equal([[{ topic: 't', partition: 0, offset: '42', epoch: 3 }]])
    expect(commits.map((c) => [c.reason, c.attempts])).to.deep.equal([['final', 1]])
    expect(tracker.partitions()[0].committed).to.equal('42')
  })

  it('accepts a synchronous target (commit() returns an array) without re-entrancy trouble', () => {
    const tracker = new OffsetTracker()
    const records = Array.from({ length: 50 }, (_, seq) => ({ topic: 't', partition: 0, offset: String(seq), seq, epoch: 0 }))
    records.forEach((r) => tracker.deliver(r))
    const commits: Commit[] = []
    let completed = false
    from(records).pipe(commitOffsets({ tracker, commit: () => [] }, { maxUncommitted: 7 })).subscribe({
      next: (c) => commits.push(c),
      complete: () => (completed = true),
    })
    expect(completed).to.equal(true)
    expect(commits.map((c) => c.offsets[0].offset)).to.deep.equal(['7', '14', '21', '28', '35', '42', '49', '50'])
    expect(commits.at(-1)!.reason).to.equal('final')
  })

  it('reports a detached final commit that gave up to config.onUnhandledError', () => {
    const scheduler = new VirtualTimeScheduler()
    const tracker = new OffsetTracker()
    const r = { topic: 't', partition: 0, offset: '0', seq: 0, epoch: 0 }
    tracker.deliver(r)
    const source = new Subject<RecordOrigin>()
    const seen: unknown[] = []
    const failure = new Error('broker gone')
    const previous = config.onUnhandledError
    config.onUnhandledError = (e) => seen.push(e)
    try {
      const sub = source.pipe(commitOffsets({ tracker, commit: () => throwError(() => failure) }, { scheduler, maxAttempts: 2 }))
        .subscribe()
      source.next(r)
      sub.unsubscribe()
      scheduler.flush()
    } finally {
      config.onUnhandledError = previous
    }
    expect(seen).to.deep.equal([failure])
    expect(tracker.partitions()[0].committed).to.equal(undefined) // nothing acknowledged
  })
})
