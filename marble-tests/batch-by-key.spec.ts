import { expect } from 'chai'
import { finalize, map, tap, throwError, timer, type Observable } from 'rxjs'
import { type TestScheduler } from 'rxjs/testing'
import { BatchError, batchByKey, type BatchByKeyOptions } from '../operators/batch-by-key'
import { marbleScheduler } from './marble-scheduler'

// Items are strings whose first letter is the key: 'a1', 'a2' share key 'a'. A run takes `frames` frames and
// returns each item with a '!' appended; `log` records when each batch started and what it held.
const keyOf = (item: string): string => item[0]!
const done = (item: string, ...results: string[]) => ({ item, results })

interface Started {
  at: number
  batch: string
}

function runner(scheduler: TestScheduler, frames: number): { run: (batch: readonly string[]) => Observable<string[]>; log: Started[]; cancelled: string[] } {
  const log: Started[] = []
  const cancelled: string[] = []
  return {
    log,
    cancelled,
    run: (batch) => {
      log.push({ at: scheduler.now(), batch: batch.join(' ') })
      let finished = false
      return timer(frames).pipe(
        map(() => {
          finished = true
          return batch.map((item) => `${item}!`)
        }),
        finalize(() => {
          if (!finished) cancelled.push(batch.join(' '))
        }),
      )
    },
  }
}

describe('batchByKey (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = marbleScheduler()
  })

  function options(o: BatchByKeyOptions): BatchByKeyOptions {
    return { ...o, scheduler }
  }

  it('behaves as the JSDoc sketch shows', () => {
    const { run, log } = runner(scheduler, 4)
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-abc-d---|', { a: 'a1', b: 'a2', c: 'b1', d: 'c1' })
      const out = source.pipe(batchByKey(keyOf, run, options({ maxBatchSize: 2, maxConcurrentBatches: 1, accumulationDelay: 2 })))
      expectObservable(out).toBe('------(AB)(CD|)', {
        A: done('a1', 'a1!'),
        B: done('a2', 'a2!'),
        C: done('b1', 'b1!'),
        D: done('c1', 'c1!'),
      })
    })
    expect(log).to.deep.equal([
      { at: 2, batch: 'a1 a2' },
      { at: 6, batch: 'b1 c1' },
    ])
  })

  it('starts a full batch at once, without waiting for the delay; the last one when the source completes', () => {
    const { run, log } = runner(scheduler, 2)
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-(abc)d|', { a: 'a1', b: 'b1', c: 'c1', d: 'd1' })
      const out = source.pipe(batchByKey(keyOf, run, options({ maxBatchSize: 3, accumulationDelay: 10 })))
      expectObservable(out).toBe('---(ABC)-(D|)', { A: done('a1', 'a1!'), B: done('b1', 'b1!'), C: done('c1', 'c1!'), D: done('d1', 'd1!') })
    })
    // d1 is alone in the forming batch when the source completes: it starts then, not 10 frames after d1.
    expect(log).to.deep.equal([
      { at: 1, batch: 'a1 b1 c1' },
      { at: 7, batch: 'd1' },
    ])
  })

  it('starts a batch that is not full when the delay since its first item passed', () => {
    const { run, log } = runner(scheduler, 1)
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-a-b--c-----|', { a: 'a1', b: 'b1', c: 'c1' })
      const out = source.pipe(batchByKey(keyOf, run, options({ maxBatchSize: 10, accumulationDelay: 3 })))
      expectObservable(out).toBe('-----(AB)-C-|', { A: done('a1', 'a1!'), B: done('b1', 'b1!'), C: done('c1', 'c1!') })
    })
    expect(log).to.deep.equal([
      { at: 4, batch: 'a1 b1' }, // 3 frames after a1, whatever came later
      { at: 9, batch: 'c1' },
    ])
  })

  it('times each batch from its own first item, also when an earlier batch filled before its delay', () => {
    // One timer serves all batches: armed at a1 for batch 1, it fires after batch 1 filled and started, and
    // must then wait on for batch 2 (opened by c1 at frame 4) instead of starting it early at frame 5.
    const { run, log } = runner(scheduler, 1)
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-ab-c----d-----|', { a: 'a1', b: 'b1', c: 'c1', d: 'd1' })
      const out = source.pipe(batchByKey(keyOf, run, options({ maxBatchSize: 2, accumulationDelay: 4 })))
      expectObservable(out).toBe('---(AB)--C----D|', { A: done('a1', 'a1!'), B: done('b1', 'b1!'), C: done('c1', 'c1!'), D: done('d1', 'd1!') })
    })
    expect(log).to.deep.equal([
      { at: 2, batch: 'a1 b1' }, // full
      { at: 8, batch: 'c1' }, // 4 frames after c1, not when batch 1's timer fired (frame 5)
      { at: 13, batch: 'd1' }, // 4 frames after d1: a fresh timer, none was armed
    ])
  })

  it('runs at most maxConcurrentBatches at once; a due batch without a slot keeps filling', () => {
    const { run, log } = runner(scheduler, 6)
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-abcde----f----|', { a: 'a1', b: 'b1', c: 'c1', d: 'd1', e: 'e1', f: 'f1' })
      const out = source.pipe(batchByKey(keyOf, run, options({ maxBatchSize: 2, maxConcurrentBatches: 1, accumulationDelay: 1 })))
      expectObservable(out).toBe('--------(AB)--(CD)--(EF|)', {
        A: done('a1', 'a1!'), B: done('b1', 'b1!'), C: done('c1', 'c1!'),
        D: done('d1', 'd1!'), E: done('e1', 'e1!'), F: done('f1', 'f1!'),
      })
    })
    expect(log).to.deep.equal([
      { at: 2, batch: 'a1 b1' },
      { at: 8, batch: 'c1 d1' }, // full at 4, waited for the slot
      { at: 14, batch: 'e1 f1' }, // due at 6, no slot: f1 joined at 10
    ])
  })

  it('never puts a key in two running batches: its later items wait for the running batch', () => {
    const { run, log } = runner(scheduler, 5)
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-ab--cd---|', { a: 'a1', b: 'b1', c: 'c1', d: 'a2' })
      const out = source.pipe(batchByKey(keyOf, run, options({ maxBatchSize: 3, maxConcurrentBatches: 4, accumulationDelay: 2 })))
      expectObservable(out).toBe('--------(AB)C--(D|)', { A: done('a1', 'a1!'), B: done('b1', 'b1!'), C: done('c1', 'c1!'), D: done('a2', 'a2!') })
    })
    expect(log).to.deep.equal([
      { at: 3, batch: 'a1 b1' },
      { at: 7, batch: 'c1' }, // a2 (frame 6) is not in it although there was room and a free slot
      { at: 10, batch: 'a2' }, // a2 joined a batch only when a1's finished (frame 8)
    ])
  })

  it('keeps several items of one key in one batch, in order, while the batch forms', () => {
    const { run, log } = runner(scheduler, 1)
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-abc-|', { a: 'a1', b: 'b1', c: 'a2' })
      const out = source.pipe(batchByKey(keyOf, run, options({ maxBatchSize: 5, accumulationDelay: 3 })))
      expectObservable(out).toBe('-----(ABC|)', { A: done('a1', 'a1!'), B: done('b1', 'b1!'), C: done('a2', 'a2!') })
    })
    expect(log).to.deep.equal([{ at: 4, batch: 'a1 b1 a2' }])
  })

  it('spreads a record with more items than maxBatchSize over successive batches and emits it once, after all', () => {
    const log: Started[] = []
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-a-b|', { a: 'r', b: 's' })
      const itemsOf = (record: string): string[] => (record === 'r' ? ['a1', 'b1', 'a2', 'c1', 'd1'] : ['e1'])
      const run = (batch: readonly string[]) => {
        log.push({ at: scheduler.now(), batch: batch.join(' ') })
        return timer(2).pipe(map(() => batch.map((item) => `${item}!`)))
      }
      const out = source.pipe(batchByKey(keyOf, run, { ...options({ maxBatchSize: 2, maxConcurrentBatches: 2, accumulationDelay: 1 }), itemsOf }))
      expectObservable(out).toBe('-----(SR|)', {
        R: done('r', 'a1!', 'b1!', 'a2!', 'c1!', 'd1!'), // results in item order, not in run order
        S: done('s', 'e1!'),
      })
    })
    expect(log).to.deep.equal([
      { at: 1, batch: 'a1 b1' },
      { at: 1, batch: 'c1 d1' }, // a2 waits for a1's batch; c1 and d1 do not wait for a2
      { at: 3, batch: 'e1 a2' },
    ])
  })

  it('emits a record without items at once; completes at once on an empty source; passes source errors', () => {
    const { run, log } = runner(scheduler, 1)
    scheduler.run(({ hot, cold, expectObservable }) => {
      const source = hot('-a-|', { a: 'r' })
      expectObservable(source.pipe(batchByKey(keyOf, run, { ...options({}), itemsOf: () => [] }))).toBe('-a-|', { a: done('r') })
      expectObservable(cold('|').pipe(batchByKey(keyOf, run, options({})))).toBe('|')
      expectObservable(cold('-#').pipe(batchByKey(keyOf, run, options({})))).toBe('-#')
    })
    expect(log).to.deep.equal([])
  })

  it('errors with a BatchError naming the failed records and items, and cancels the other batches', () => {
    const { run, cancelled } = runner(scheduler, 5)
    let error: unknown
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-ab--|', { a: 'a1', b: 'c1' })
      const failing = (batch: readonly string[]) =>
        batch[0] === 'c1'
          ? timer(2).pipe(map((): string[] => { throw new Error('boom') }))
          : run(batch)
      const out = source.pipe(
        batchByKey(keyOf, failing, options({ maxBatchSize: 1, accumulationDelay: 0 })),
        tap({ error: (err: unknown) => (error = err) }),
      )
      expectObservable(out).toBe('----#', undefined, new BatchError(['c1'], ['c1'], new Error('boom')))
    })
    expect(error).to.be.instanceOf(BatchError)
    const batchError = error as BatchError<string, string>
    expect(batchError.records).to.deep.equal(['c1'])
    expect(batchError.items).to.deep.equal(['c1'])
    expect((batchError.cause as Error).message).to.equal('boom')
    expect(cancelled).to.deep.equal(['a1'])
  })

  it('errors when run returns the wrong number of results, when run throws, and when keyOf throws', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-a-|', { a: 'a1' })
      const short = () => timer(1).pipe(map(() => [] as string[]))
      expectObservable(source.pipe(batchByKey(keyOf, short, options({ accumulationDelay: 1 })))).toBe(
        '---#',
        undefined,
        new BatchError(['a1'], ['a1'], new RangeError('run returned 0 result(s) for 1 item(s)')),
      )
      const throwing = (): Observable<string[]> => {
        throw new Error('sync')
      }
      expectObservable(source.pipe(batchByKey(keyOf, throwing, options({ accumulationDelay: 1 })))).toBe(
        '--#',
        undefined,
        new BatchError(['a1'], ['a1'], new Error('sync')),
      )
      const badKey = (): string => {
        throw new Error('key')
      }
      expectObservable(source.pipe(batchByKey(badKey, () => throwError(() => new Error('never')), options({})))).toBe('-#', undefined, new Error('key'))
    })
  })

  it('cancels running batches, the timer and waiting items on unsubscribe', () => {
    const { run, log, cancelled } = runner(scheduler, 5)
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-abdc---|', { a: 'a1', b: 'b1', c: 'a2', d: 'd1' })
      const out = source.pipe(batchByKey(keyOf, run, options({ maxBatchSize: 2, accumulationDelay: 3 })))
      expectObservable(out, '^----!').toBe('-')
    })
    // d1's batch was due at 6 and a2 waited for a1's batch: neither ever ran.
    expect(log).to.deep.equal([{ at: 2, batch: 'a1 b1' }])
    expect(cancelled).to.deep.equal(['a1 b1'])
  })
})
