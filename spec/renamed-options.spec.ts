// Options renamed in 0.2 fail loudly under their old names. Invariant: an options object holding an old name
// is refused with a TypeError naming the stage, the old name and the new one; any other options object passes
// the rename check. Mutations caught: rejectRenamed returning without looking (the old name silently ignored,
// its default applied: the property and every stage test fail), and `in` instead of an own-property check
// (an inherited `after` from a prototype refused: the property fails on its prototype case).
import { expect } from 'chai'
import fc from 'fast-check'
import { commitOffsets, fromKafka, publish, stuckRecords, OffsetTracker } from '../index'
import { rejectRenamed } from '../operators/renamed-options'

const RENAMES = { lingerMs: 'linger', batchSize: 'maxBatchSize' }

describe('renamed options', () => {
  it('refuses exactly the objects that hold an old name as their own property, naming stage, old and new', () => {
    const key = fc.constantFrom('lingerMs', 'batchSize', 'linger', 'maxBatchSize', 'topic', 'after', 'interval')
    fc.assert(
      fc.property(fc.dictionary(key, fc.anything()), fc.boolean(), (own, viaPrototype) => {
        const options: object = viaPrototype ? Object.create(own) : own
        const old = viaPrototype ? undefined : Object.keys(RENAMES).find((k) => Object.prototype.hasOwnProperty.call(own, k))
        if (old === undefined) {
          expect(() => rejectRenamed('publish', options, RENAMES)).not.to.throw()
        } else {
          expect(() => rejectRenamed('publish', options, RENAMES)).to.throw(TypeError, `publish: the option ${old} was renamed`)
        }
      }),
      { numRuns: 500 },
    )
  })

  const stages: [string, () => unknown, RegExp][] = [
    ['fromKafka heartbeatInterval', () => fromKafka({} as never, { topics: ['t'], heartbeatInterval: 100 } as never), /fromKafka: the option heartbeatInterval was renamed budgetHeartbeatInterval/],
    ['commitOffsets batchSize', () => commitOffsets({ tracker: new OffsetTracker(), commit: () => [] }, { batchSize: 5 } as never), /commitOffsets: the option batchSize was renamed maxUncommitted/],
    ['publish lingerMs', () => publish({} as never, { topic: 'o', lingerMs: 2 } as never), /publish: the option lingerMs was renamed linger/],
    ['publish batchSize', () => publish({} as never, { topic: 'o', batchSize: 2 } as never), /publish: the option batchSize was renamed maxBatchSize/],
    ['stuckRecords after', () => stuckRecords({ tracker: new OffsetTracker() }, { after: 10 } as never), /stuckRecords: the option after was renamed stuckAfter/],
  ]
  for (const [name, call, message] of stages) {
    it(`${name}: refused at call time with the new name`, () => {
      expect(call).to.throw(TypeError, message)
    })
  }
})
