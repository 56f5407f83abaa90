import { expect } from 'chai'
import fc from 'fast-check'
import { PartitionEpochs } from '../lib/tracker/partition-epochs'

describe('PartitionEpochs', () => {
  it('gives each assignment new epochs and restarts seq; revokeAll owns nothing', () => {
    const epochs = new PartitionEpochs()
    epochs.assign({ t: [0, 1] })
    const lane = epochs.lane('t', 0)
    lane.nextSeq = 5
    expect(epochs.epochOf('t', 1)).to.equal(lane.epoch)
    expect(epochs.assigned()).to.deep.equal([{ topic: 't', partitions: [0, 1] }])
    epochs.revokeAll()
    expect(epochs.owning).to.equal(false)
    expect(epochs.epochOf('t', 0)).to.equal(undefined)
    epochs.assign({ t: [0] })
    expect(epochs.lane('t', 0).nextSeq).to.equal(0)
    expect(epochs.lane('t', 0).epoch).to.be.greaterThan(lane.epoch)
  })

  it('adopts a partition fetched without a known assignment into a fresh epoch', () => {
    const epochs = new PartitionEpochs()
    const generation = epochs.generation
    const lane = epochs.lane('u', 3)
    expect(epochs.epochOf('u', 3)).to.equal(lane.epoch)
    expect(epochs.generation).to.equal(generation) // adoption is not an ownership change of the group
  })

  it('never gives a partition an epoch it had before, and changes generation at every ownership change', () => {
    // Invariant: per partition, successive epochs strictly increase (so a record of an older assignment is
    // never current again), an unlisted partition has no epoch, and `generation` grows at each change.
    // Mutation seen to fail it: `assign` reusing the previous epoch number (no ++), and revokeAll not
    // bumping the generation.
    fc.assert(
      fc.property(fc.array(fc.option(fc.subarray([0, 1, 2, 3]), { nil: undefined }), { maxLength: 30 }), (steps) => {
        const epochs = new PartitionEpochs()
        const seen = new Map<number, number>()
        let generation = epochs.generation
        for (const step of steps) {
          if (step === undefined) epochs.revokeAll()
          else epochs.assign({ t: step })
          expect(epochs.generation).to.be.greaterThan(generation)
          generation = epochs.generation
          for (const p of [0, 1, 2, 3]) {
            const e = epochs.epochOf('t', p)
            if (step === undefined || !step.includes(p)) {
              expect(e).to.equal(undefined)
              continue
            }
            expect(e).to.be.a('number')
            expect(e!).to.be.greaterThan(seen.get(p) ?? -Infinity)
            seen.set(p, e!)
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('emits ownership changes, and replays what is owned to a late subscriber', () => {
    const epochs = new PartitionEpochs()
    const early: string[] = []
    const show = (e: { type: string; topic: string; partition: number; epoch: number }): string => `${e.type} ${e.topic}${e.partition}@${e.epoch}`
    const sub = epochs.events.subscribe((e) => {
      // Emitted after the change: a listener sees the new ownership.
      if (e.type === 'assigned') expect(epochs.epochOf(e.topic, e.partition)).to.equal(e.epoch)
      else expect(epochs.epochOf(e.topic, e.partition)).not.to.equal(e.epoch)
      early.push(show(e))
    })
    epochs.assign({ t: [0, 1] })
    epochs.assign({ t: [1] }) // a rejoin without a revoke first: every old ownership is revoked
    const late: string[] = []
    epochs.events.subscribe((e) => late.push(show(e))).unsubscribe()
    epochs.revokeAll()
    epochs.lane('u', 3) // adopted
    sub.unsubscribe()
    epochs.revokeAll()
    expect(early).to.deep.equal(['assigned t0@1', 'assigned t1@1', 'revoked t0@1', 'revoked t1@1', 'assigned t1@2', 'revoked t1@2', 'assigned u3@3'])
    expect(late).to.deep.equal(['assigned t1@2'])
  })
})
