import { map, type Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { marbleScheduler } from './marble-scheduler'
import { groupByKeyConcat } from '../operators/group-by-key-concat'
import { PipelineMetrics } from '../operators/pipeline-metrics'
import { trackDelivery } from '../operators/track-delivery'
import { commitOffsets } from '../operators/commit-offsets'
import { forward, type Result } from '../operators/result'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { pipelineStats } from '../lib/stats/pipeline-stats'
import { recordBuilder, type TestRecord } from '../lib/testing/records'
import { of } from 'rxjs'

describe('pipelineStats hotKeys (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = marbleScheduler()
  })

  it('lists the keys with the most records queued or running, hottest first, with their counts, as the work moves', () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const tracker = new OffsetTracker({ now: () => scheduler.now() })
      const metrics = new PipelineMetrics()
      const make = recordBuilder({ topic: 't' })
      // Customer x sends 4 records, y 2, z 1; each projection takes 6 frames; keys run concurrently.
      const records: Record<string, TestRecord> = {}
      for (const [letter, key] of [['a', 'x'], ['b', 'x'], ['c', 'y'], ['d', 'x'], ['e', 'z'], ['f', 'x'], ['g', 'y']] as const) {
        records[letter] = make({ key })
      }
      const work = (r: TestRecord): Observable<Result<string>> => cold('------(v|)', { v: forward(String(r.key)) })
      const pipeline = hot<TestRecord>('-abcdefg', records).pipe(
        trackDelivery(tracker),
        groupByKeyConcat((r) => r.key, work, { metrics }),
        commitOffsets({ tracker, commit: () => of(true) }, { interval: 1, scheduler }),
      )
      expectObservable(pipeline, '^ 40ms !')
      const stats = pipelineStats({ tracker }, { interval: 10, metrics, hotKeys: 2, scheduler }).pipe(
        map((s) => s.hotKeys?.map((h) => `${String(h.key)}:${h.count}`).join(' ')),
      )
      // x: a 1..7, b 7..13, d 13..19, f 19..25. y: c 3..9, g 9..15. z: e 5..11.
      // At 10: x b,d,f (3); y g (1); z e (1). At 20: x f (1). At 30: nothing.
      expectObservable(stats, '^ 31ms !').toBe('10ms a 9ms b 9ms c', { a: 'x:3 y:1', b: 'x:1', c: '' })
    })
  })

  it('is undefined without metrics, and empty with hotKeys: 0', () => {
    scheduler.run(({ expectObservable }) => {
      const tracker = new OffsetTracker({ now: () => scheduler.now() })
      expectObservable(pipelineStats({ tracker }, { interval: 5, scheduler }).pipe(map((s) => s.hotKeys)), '^ 6ms !').toBe('5ms a', { a: undefined })
      const metrics = new PipelineMetrics()
      expectObservable(pipelineStats({ tracker }, { interval: 5, metrics, hotKeys: 0, scheduler }).pipe(map((s) => s.hotKeys)), '^ 6ms !').toBe('5ms a', { a: [] })
    })
  })
})
