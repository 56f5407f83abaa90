import { expect } from 'chai'
import { TestScheduler } from 'rxjs/testing'
import { marbleScheduler } from './marble-scheduler'
import { commitOffsets, type Commit } from '../operators/commit-offsets'
import { failed, forward, type Result } from '../operators/result'
import { routed, UnroutedFailureError } from '../operators/unrouted-failure'
import type { Processed } from '../operators/processed'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { recordBuilder, type TestRecord } from '../lib/testing/records'

type Item = Processed<TestRecord, Result<string>>

describe('commitOffsets and unrouted failures (marbles)', () => {
  let scheduler: TestScheduler
  let tracker: OffsetTracker
  let items: Item[]
  const boom = new Error('poison')

  beforeEach(() => {
    scheduler = marbleScheduler()
    tracker = new OffsetTracker({ now: () => scheduler.now() })
    const make = recordBuilder({ topic: 't' })
    // Offsets 0..3 of partition 0; the one at offset 2 is the poison.
    items = [0, 1, 2, 3].map((i) => {
      const item = make({ key: `k${i}` })
      tracker.deliver(item)
      return { item, results: [forward(`v${i}`)] }
    })
  })

  const withPoison = (poison: Result<string>): Record<string, Item> =>
    ({ a: items[0]!, b: items[1]!, c: { item: items[2]!.item, results: [poison] }, d: items[3]! })

  const commitAt = (time: number, offset: string): Commit =>
    ({ offsets: [{ topic: 't', partition: 0, offset, epoch: 0 }], attempts: 1, time, reason: 'final' })

  for (const action of ['fail', 'dead-letter'] as const) {
    it(`'${action}' not routed: stops the source at the failure, commits up to it (offset 2), then errors naming it`, () => {
      const failure = failed(boom, 3, action)
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('a-b-c-d-|', withPoison(failure))
        const out = source.pipe(commitOffsets({ tracker, commit: () => cold('--x|') }, { interval: 100, scheduler }))
        // c arrives at 4: the source is unsubscribed (d is never read), the final commit goes out at 4,
        // is acknowledged at 7, and the error follows it.
        expectObservable(out).toBe('-------(x#)', { x: commitAt(7, '2') }, new UnroutedFailureError(items[2]!.item, failure))
        expectSubscriptions(source.subscriptions).toBe('^---!')
      })
    })
  }

  it('a failure marked routed (what publish emits for a dead letter it sent) is committed past like any record', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const out = cold('a-b-c-d-|', withPoison(routed(failed(boom, 3), 'dlt')))
        .pipe(commitOffsets({ tracker, commit: () => cold('--x|') }, { interval: 100, scheduler }))
      expectObservable(out).toBe('-----------(x|)', { x: commitAt(11, '4') })
    })
  })

  it('the error carries the record and the failure for handlers', () => {
    const error = new UnroutedFailureError(items[2]!.item, failed(boom, 3, 'fail'))
    expect(error.record).to.deep.equal({ topic: 't', partition: 0, offset: '2', key: 'k2' })
    expect(error.failure.error).to.equal(boom)
  })
})
