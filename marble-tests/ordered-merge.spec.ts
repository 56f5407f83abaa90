import { TestScheduler } from 'rxjs/testing'
import { marbleScheduler } from './marble-scheduler'
import { orderedMerge } from '../operators/ordered-merge'
import { SequenceError } from '../operators/sequence-error'
import type { Processed } from '../operators/processed'
import type { RecordOrigin } from '../lib/record/record'
import { recordBuilder, type RecordSpec, type TestRecord } from '../lib/testing/records'

/** Records built in delivery order, so their seqs are dense per partition and epoch. */
function delivered<L extends string>(...specs: [L, RecordSpec][]): Record<L, TestRecord> {
  const make = recordBuilder({ topic: 'orders' })
  const out = {} as Record<L, TestRecord>
  for (const [letter, spec] of specs) out[letter] = make(spec)
  return out
}

describe('orderedMerge (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = marbleScheduler()
  })

  it('passes items already in order straight through', () => {
    const v = delivered(['a', {}], ['b', {}], ['c', {}])
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c|', v).pipe(orderedMerge())).toBe('a-b-c|', v)
    })
  })

  it('reorders a lane: an early item waits for the ones before it, then they leave together', () => {
    const v = delivered(['a', {}], ['b', {}], ['c', {}], ['d', {}])
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('c-a-d-b----|', v).pipe(orderedMerge())).toBe('--a---(bcd)|', v)
    })
  })

  it('keeps lanes independent: a slow partition does not delay another', () => {
    const v = delivered(['a', { partition: 0 }], ['b', { partition: 0 }], ['x', { partition: 1 }], ['y', { partition: 1 }])
    scheduler.run(({ cold, expectObservable }) => {
      // a (partition 0, seq 0) is slow; partition 1 flows meanwhile.
      expectObservable(cold('b-x-y---a---|', v).pipe(orderedMerge())).toBe('--x-y---(ab)|', v)
    })
  })

  it('treats the same partition number of two topics as two lanes', () => {
    const v = delivered(['a', { topic: 't1' }], ['b', { topic: 't1' }], ['x', { topic: 't2' }])
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('b-x-a---|', v).pipe(orderedMerge())).toBe('--x-(ab)|', v)
    })
  })

  it('keeps the place of Processed envelopes with no results and with many', () => {
    const r = delivered(['a', {}], ['b', {}], ['c', {}])
    const v: Record<string, Processed<TestRecord, string>> = {
      a: { item: r.a, results: ['a1'] },
      b: { item: r.b, results: [] }, // dropped: still takes its turn
      c: { item: r.c, results: ['c1', 'c2', 'c3'] }, // fanned out: one envelope
    }
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('c-b-a-----|', v).pipe(orderedMerge())).toBe('----(abc)-|', v)
    })
  })

  it('orders by seq, whatever gaps the offsets have', () => {
    // Offsets 5, 100, 101, 7000 (compaction gaps); seq 0, 1, 2, 3.
    const v = delivered(['a', { offset: 5 }], ['b', { offset: 100 }], ['c', { offset: 101 }], ['d', { offset: 7000 }])
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('b-d-a---c---|', v).pipe(orderedMerge())).toBe('----(ab)(cd)|', v)
    })
  })

  it('on a newer epoch, flushes what the old one held in seq order, restarts at seq 0, and passes stale items through', () => {
    const v = delivered(
      ['a', { epoch: 0 }], ['b', { epoch: 0 }], ['c', { epoch: 0 }], // epoch 0: a is still in flight at the rebalance
      ['x', { epoch: 1 }], ['y', { epoch: 1 }], ['z', { epoch: 1 }], // epoch 1 starts at seq 0 again
    )
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('c-b-x----a-z-y---|', v).pipe(orderedMerge())).toBe('----(bcx)a---(yz)|', v)
    })
  })

  it('errors when the source completes while a lane waits for a missing seq', () => {
    const v = delivered(['a', { partition: 3 }], ['b', { partition: 3 }], ['c', { partition: 3 }], ['x', { partition: 4 }])
    scheduler.run(({ cold, expectObservable }) => {
      const message = 'orderedMerge: source completed while lane orders-3 (epoch 0) holds 2 item(s) waiting for missing seq 0'
      expectObservable(cold('c-x-b-|', v).pipe(orderedMerge())).toBe('--x---#', v, new SequenceError(message, 'orders-3', 0))
    })
  })

  it('errors on a seq seen twice, or after it was emitted: records were duplicated upstream', () => {
    const v = delivered(['a', {}], ['b', {}], ['c', {}])
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const twice = 'orderedMerge: seq 2 of lane orders-0 (epoch 0) arrived twice: items were duplicated upstream'
      const source = cold('c-c-a-|', v)
      expectObservable(source.pipe(orderedMerge())).toBe('--#', v, new SequenceError(twice, 'orders-0', 2))
      expectSubscriptions(source.subscriptions).toBe('^-!') // and the source is let go
      const late = 'orderedMerge: seq 0 of lane orders-0 (epoch 0) arrived after it was emitted: items were duplicated upstream'
      expectObservable(cold('a-a-|', v).pipe(orderedMerge())).toBe('a-#', v, new SequenceError(late, 'orders-0', 0))
    })
  })

  it('passes source errors through, and turns a throwing callback into an error', () => {
    const v = delivered(['a', {}], ['b', {}])
    const boom = new Error('boom')
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-#', v, boom).pipe(orderedMerge())).toBe('a-#', v, boom)
      const laneOf = (r: RecordOrigin): string => {
        if (r.seq === 1) throw boom
        return r.topic
      }
      expectObservable(cold('a-b-|', v).pipe(orderedMerge({ laneOf }))).toBe('a-#', v, boom)
    })
  })

  it('orders any stream given laneOf and seqOf (one epoch unless epochOf says otherwise)', () => {
    type Job = { queue: string; index: number }
    const v: Record<string, Job> = { a: { queue: 'q', index: 0 }, b: { queue: 'q', index: 1 }, x: { queue: 'r', index: 0 } }
    scheduler.run(({ cold, expectObservable }) => {
      const ordered = orderedMerge({ laneOf: (j: Job) => j.queue, seqOf: (j: Job) => j.index })
      expectObservable(cold('b-x-a---|', v).pipe(ordered)).toBe('--x-(ab)|', v)
    })
  })

  it('rejects a seq that is not a non-negative integer', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const ordered = orderedMerge({ laneOf: (_: number) => 'q', seqOf: (n: number) => n })
      const message = 'orderedMerge: seq 0.5 of lane q is not a non-negative integer'
      expectObservable(cold('a|', { a: 0.5 }).pipe(ordered)).toBe('#', undefined, new RangeError(message))
    })
  })
})
