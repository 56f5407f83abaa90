import { expect } from 'chai'
import fc from 'fast-check'
import { NEVER, Subject, of } from 'rxjs'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { PipelineMetrics } from '../operators/pipeline-metrics'
import { offerHotKey, type HotKey } from '../operators/hot-keys'

describe('hot keys: the keys with the most records queued or running', () => {
  // Invariant: hotKeys(limit) lists min(limit, keys with work) keys, hottest first, each with exactly its
  // number of queued + running items, and no key left out is hotter than the last one listed.
  // Mutations caught: not counting the running item (`lane.current`) in KeyQueues.hottestKeys (seen failing);
  // offerHotKey keeping the first `limit` instead of the top.
  it('match a model of the queues, for any arrivals and any limit (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ key: fc.integer({ min: 0, max: 6 }), stuck: fc.boolean() }), { maxLength: 60 }),
      fc.integer({ min: 0, max: 8 }),
      (items, limit) => {
        const metrics = new PipelineMetrics()
        const source = new Subject<{ key: number; stuck: boolean }>()
        // A stuck item never completes, so it and every later item of its key stay queued or running.
        const sub = source.pipe(groupByKeyConcat((i) => i.key, (i) => (i.stuck ? NEVER : of(i.key)), { metrics })).subscribe()
        for (const i of items) source.next(i)
        const model = new Map<number, number>()
        const blocked = new Set<number>()
        for (const i of items) {
          if (i.stuck) blocked.add(i.key)
          if (blocked.has(i.key)) model.set(i.key, (model.get(i.key) ?? 0) + 1)
        }
        const top = metrics.hotKeys(limit)
        sub.unsubscribe()
        expect(top.length).to.equal(Math.min(limit, model.size))
        for (const h of top) expect(h.count, `key ${String(h.key)}`).to.equal(model.get(h.key as number))
        for (let j = 1; j < top.length; j++) expect(top[j - 1]!.count).to.be.at.least(top[j]!.count)
        const listed = new Set(top.map((h) => h.key))
        const floor = top.at(-1)?.count ?? Infinity
        for (const [key, count] of model) if (!listed.has(key) && top.length === limit) expect(count).to.be.at.most(floor)
      },
    ), { numRuns: 400 })
  })

  it('sums a key over chained stages, and is empty with no stage registered', () => {
    const metrics = new PipelineMetrics()
    expect(metrics.hotKeys(5)).to.deep.equal([])
    const gauge = (top: HotKey[]) => ({ keyCount: top.length, running: 0, pending: 0, hottestKeys: () => top })
    metrics.register(gauge([{ key: 'a', count: 3 }, { key: 'b', count: 1 }]))
    metrics.register(gauge([{ key: 'b', count: 4 }]))
    expect(metrics.hotKeys(5)).to.deep.equal([{ key: 'b', count: 5 }, { key: 'a', count: 3 }])
    expect(metrics.hotKeys(1)).to.deep.equal([{ key: 'b', count: 5 }])
    expect(metrics.hotKeys(0)).to.deep.equal([])
  })

  it('offerHotKey keeps the top `limit`, hottest first, earlier keys first on ties', () => {
    const top: HotKey[] = []
    for (const [key, count] of [['a', 2], ['b', 9], ['c', 2], ['d', 5], ['e', 1]] as const) offerHotKey(top, key, count, 3)
    expect(top).to.deep.equal([{ key: 'b', count: 9 }, { key: 'd', count: 5 }, { key: 'a', count: 2 }])
  })
})
