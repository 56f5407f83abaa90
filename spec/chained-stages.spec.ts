import { expect } from 'chai'
import fc from 'fast-check'
import { concatMap, from, map, of, timer } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { batchByKey } from '../operators/batch-by-key'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import type { Processed } from '../operators/processed'

interface Rec {
  readonly id: number
  readonly key: number
  readonly gap: number
  readonly read: number
}
type Read = Processed<Rec, number>

const scenario = fc.record({
  records: fc
    .array(fc.record({ key: fc.nat(3), gap: fc.nat(2), read: fc.nat(3) }), { maxLength: 30 })
    .map((rs) => rs.map((r, id): Rec => ({ id, ...r }))),
  concurrency: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(Infinity)),
  maxBatchSize: fc.integer({ min: 1, max: 4 }),
  maxConcurrentBatches: fc.integer({ min: 1, max: 3 }),
  accumulationDelay: fc.nat(3),
  writes: fc.array(fc.nat(4), { minLength: 1, maxLength: 8 }),
})

/** Appends `id` to the list of `key` in `byKey`. */
function note(byKey: Map<number, number[]>, key: number, id: number): void {
  const list = byKey.get(key)
  if (list === undefined) byKey.set(key, [id])
  else list.push(id)
}

describe('chained per-key stages', () => {
  // Per key, reads, writes and outputs follow source order, and no two records of a key are read at once
  // or written in two batches at once.
  // Caught: batchByKey placing every item in the forming batch regardless of its key's running batch (a key
  // in two running batches), and groupByKeyConcat's `push` enqueuing a lane whose item is running
  // (`if (lane.current === null)` -> `if (true)`: two reads of a key at once). Both surface as an error of
  // the pipeline, hence the error observer: the property then fails on the error itself, not only on a
  // missing completion.
  it('groupByKeyConcat (read) then batchByKey (write) keep per-key order end to end', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const scheduler = new TestScheduler(() => undefined)
        const reading = new Set<number>()
        const writingKeys = new Map<number, number>()
        const readOrder = new Map<number, number[]>()
        const writeOrder = new Map<number, number[]>()
        const outOrder = new Map<number, number[]>()
        let batchIndex = 0
        let completed = false
        let failure: unknown
        const read = (r: Rec) => {
          expect(reading.has(r.key), `key ${r.key} read twice at once`).to.equal(false)
          reading.add(r.key)
          note(readOrder, r.key, r.id)
          const done = () => (reading.delete(r.key), r.id * 10)
          return r.read === 0 ? [done()] : timer(r.read).pipe(map(done))
        }
        const write = (batch: readonly Read[]) => {
          const keys = new Set(batch.map((p) => p.item.key))
          for (const k of keys) expect(writingKeys.has(k), `key ${k} in two running batches`).to.equal(false)
          for (const k of keys) writingKeys.set(k, 1)
          for (const p of batch) note(writeOrder, p.item.key, p.item.id)
          const done = () => {
            for (const k of keys) writingKeys.delete(k)
            return batch.map((p) => p.item.id)
          }
          const d = s.writes[batchIndex++ % s.writes.length]!
          return d === 0 ? [done()] : timer(d).pipe(map(done))
        }
        scheduler.run(() => {
          from(s.records)
            .pipe(
              concatMap((r) => (r.gap === 0 ? of(r) : timer(r.gap).pipe(map(() => r)))),
              groupByKeyConcat((r) => r.key, read, { concurrency: s.concurrency }),
              batchByKey((p: Read) => p.item.key, write, {
                maxBatchSize: s.maxBatchSize,
                maxConcurrentBatches: s.maxConcurrentBatches,
                accumulationDelay: s.accumulationDelay,
              }),
            )
            .subscribe({
              next: ({ item, results }) => {
                expect(results).to.deep.equal([item.item.id])
                expect(item.results).to.deep.equal([item.item.id * 10])
                note(outOrder, item.item.key, item.item.id)
              },
              complete: () => (completed = true),
              error: (err) => (failure = err),
            })
        })
        expect(failure).to.equal(undefined)
        expect(completed).to.equal(true)
        const sourceOrder = new Map<number, number[]>()
        for (const r of s.records) note(sourceOrder, r.key, r.id)
        expect(readOrder).to.deep.equal(sourceOrder)
        expect(writeOrder).to.deep.equal(sourceOrder)
        expect(outOrder).to.deep.equal(sourceOrder)
      }),
      { numRuns: 500 },
    )
  })
})
