import { expect } from 'chai'
import { map, timer } from 'rxjs'
import { type TestScheduler } from 'rxjs/testing'
import { records, type TestRecord } from '../lib/testing/records'
import { batchByKey } from '../operators/batch-by-key'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import type { Processed } from '../operators/processed'
import { marbleScheduler } from './marble-scheduler'

type Read = Processed<TestRecord, string>

describe('chained per-key stages (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = marbleScheduler()
  })

  it('groupByKeyConcat (read) then batchByKey (write) keep per-key order end to end', () => {
    const r = records({ a: { key: 'k1', value: 'a' }, b: { key: 'k2', value: 'b' }, c: { key: 'k1', value: 'c' }, d: { key: 'k1', value: 'd' } })
    const writes: { at: number; batch: string }[] = []
    // Reads of k1 take 2 frames, of k2 1 frame; every write batch takes 3 frames.
    const read = (rec: TestRecord) => timer(rec.key === 'k1' ? 2 : 1).pipe(map(() => `read ${rec.value}`))
    const write = (batch: readonly Read[]) => {
      writes.push({ at: scheduler.now(), batch: batch.map((p) => p.item.value).join(' ') })
      return timer(3).pipe(map(() => batch.map((p) => `wrote ${p.item.value}`)))
    }
    const out = (rec: TestRecord) => ({ item: { item: rec, results: [`read ${rec.value}`] }, results: [`wrote ${rec.value}`] })
    scheduler.run(({ hot, expectObservable }) => {
      const source = hot('-abcd|', r)
      const pipeline = source.pipe(
        groupByKeyConcat((rec) => rec.key, read),
        batchByKey((p: Read) => p.item.key, write, { maxBatchSize: 2, maxConcurrentBatches: 2, accumulationDelay: 1, scheduler }),
      )
      // a read 1-3, b 2-3, c waits for a: 3-5, d waits for c: 5-7.
      // a and b fill a batch at 3 (writes 3-6); c's write waits for a's batch (k1 busy), joins a batch at 6
      // that d fills at 7; so k1's writes run a, then c and d in one batch, in order.
      expectObservable(pipeline).toBe('------(AB)(CD|)', { A: out(r.a), B: out(r.b), C: out(r.c), D: out(r.d) })
    })
    expect(writes).to.deep.equal([
      { at: 3, batch: 'a b' },
      { at: 7, batch: 'c d' },
    ])
  })
})
