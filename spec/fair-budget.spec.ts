import { expect } from 'chai'
import fc from 'fast-check'
import { FairBudget, type PartitionRef } from '../lib/source/fair-budget'
import { yieldsBatch } from '../lib/source/batch-yield'

// The fair in-flight budget's rule (lib/source/fair-budget.ts), checked against a model that recomputes it
// from scratch at every step, and the guarantee it exists for: a partition below its reserve always finds
// room, whatever the others hold (one slow partition never keeps the others from running).

interface Rec { readonly ref: PartitionRef }

/** The rule, written as directly as possible: O(partitions) per question. */
class Model {
  owned: PartitionRef[] = []
  inFlight: Rec[] = []
  constructor(readonly max: number, readonly resumeBelow: number) {}
  get reserve(): number {
    return this.owned.length === 0 ? 0 : Math.floor(this.max / (2 * this.owned.length))
  }
  own(p: PartitionRef): number {
    return this.inFlight.filter((r) => same(r.ref, p)).length
  }
  unusedOfOthers(p: PartitionRef): number {
    return this.owned.filter((q) => !samePartition(q, p)).reduce((sum, q) => sum + Math.max(0, this.reserve - this.own(q)), 0)
  }
  mayDeliver(p: PartitionRef): boolean {
    const total = this.inFlight.length
    return total < this.max && (this.own(p) < this.reserve || total + this.unusedOfOthers(p) < this.max)
  }
  ready(p: PartitionRef): boolean {
    return this.mayDeliver(p) && (this.own(p) < Math.ceil(this.reserve / 2) || this.inFlight.length <= this.resumeBelow)
  }
  /** Records of epochs no longer owned are still in flight. */
  get stragglers(): number {
    return this.inFlight.filter((r) => !this.owned.some((q) => same(q, r.ref))).length
  }
}

const same = (a: PartitionRef, b: PartitionRef): boolean => samePartition(a, b) && a.epoch === b.epoch
const samePartition = (a: PartitionRef, b: PartitionRef): boolean => a.topic === b.topic && a.partition === b.partition

type Command =
  | { kind: 'deliver'; partition: number; count: number }
  | { kind: 'finish'; pick: number }
  | { kind: 'assign'; partitions: number[] }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), partition: fc.nat(5), count: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('assign' as const), partitions: fc.uniqueArray(fc.nat(5), { minLength: 1, maxLength: 6 }) }) },
)

const scenario = fc
  .record({ max: fc.integer({ min: 1, max: 120 }), // resumeBelow above half the budget half the time: where a borrowing partition waits below it.
    resumeFraction: fc.oneof(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0.6, max: 0.999, noNaN: true })), commands: fc.array(command, { maxLength: 120 }) })
  .map(({ max, resumeFraction, commands }) => ({ max, resumeBelow: Math.floor(max * resumeFraction), commands }))

/** Runs a scenario on the budget and the model side by side, calling `check` after every step. */
function run(
  { max, resumeBelow, commands }: { max: number; resumeBelow: number; commands: Command[] },
  check: (budget: FairBudget, model: Model, step: { wakes?: boolean; readyBefore?: boolean[] }) => void,
): void {
  const budget = new FairBudget(max, resumeBelow)
  const model = new Model(max, resumeBelow)
  let epoch = 0
  const assign = (partitions: number[]): void => {
    epoch++
    model.owned = partitions.map((partition) => ({ topic: 't', partition, epoch }))
    budget.assign(model.owned)
  }
  assign([0, 1, 2, 3])
  for (const c of commands) {
    if (c.kind === 'assign') {
      assign(c.partitions)
      check(budget, model, {})
    } else if (c.kind === 'deliver') {
      const ref = model.owned[c.partition % model.owned.length]!
      // As the session does: deliver while the budget says so, then stop.
      for (let i = 0; i < c.count && budget.mayDeliver(ref.topic, ref.partition, ref.epoch); i++) {
        budget.delivered(ref.topic, ref.partition, ref.epoch)
        model.inFlight.push({ ref })
      }
      check(budget, model, {})
    } else if (model.inFlight.length > 0) {
      const readyBefore = model.owned.map((p) => model.ready(p))
      const [finished] = model.inFlight.splice(c.pick % model.inFlight.length, 1)
      budget.finished(finished!.ref.topic, finished!.ref.partition, finished!.ref.epoch)
      const wakes = budget.wakes(finished!.ref.topic, finished!.ref.partition, finished!.ref.epoch)
      check(budget, model, { wakes, readyBefore })
    }
  }
}

describe('FairBudget', () => {
  it('answers mayDeliver and ready exactly as the rule says, at every step', () => {
    // Mutation caught: keeping the unused reserve unchanged when a partition crosses its reserve (the
    // `if (share.inFlight < this.#reserve)` in delivered or finished) drifts from the model.
    fc.assert(
      fc.property(scenario, (s) => {
        run(s, (budget, model) => {
          expect(budget.inFlight, 'inFlight').to.equal(model.inFlight.length)
          expect(budget.reserve, 'reserve').to.equal(model.reserve)
          for (const p of model.owned) {
            expect(budget.mayDeliver(p.topic, p.partition, p.epoch), `mayDeliver ${p.partition}`).to.equal(model.mayDeliver(p))
            expect(budget.ready(p.topic, p.partition, p.epoch), `ready ${p.partition}`).to.equal(model.ready(p))
            expect(budget.readyOther(p.topic, p.partition)).to.equal(model.owned.some((q) => q.partition !== p.partition && model.ready(q)))
          }
        })
      }),
      { numRuns: 500 },
    )
  })

  it('never exceeds maxInFlight, and a partition below its reserve always has room, whatever the others hold', () => {
    // The guarantee: one partition (a slow head, its finished records still in flight) cannot keep another
    // from running. Mutation caught (seen failing): borrowing without the reservation, i.e.
    // `this.#inFlight < this.maxInFlight` for `this.#inFlight + this.#unusedReserve < this.maxInFlight` in
    // mayDeliver: the first partition then takes the whole budget and the others find none.
    fc.assert(
      fc.property(scenario, (s) => {
        run(s, (budget, model) => {
          expect(budget.inFlight).to.be.at.most(s.max)
          // Records of revoked epochs occupy places no reserve accounts for: the guarantee holds once they end.
          if (model.stragglers > 0) return
          for (const p of model.owned) {
            if (model.own(p) < model.reserve) expect(budget.mayDeliver(p.topic, p.partition, p.epoch), `partition ${p.partition} below its reserve`).to.equal(true)
          }
        })
      }),
      { numRuns: 500 },
    )
  })

  it('signals every finish after which a held batch may go on (no lost wake-up)', () => {
    // A held batch only re-checks when woken (or at its next heartbeat): a partition turning ready on a
    // finish after which wakes() says false stalls until then. Mutation caught (seen failing): `=== this.resumeBelow`
    // for `<= this.resumeBelow` (a finish that lets a borrowing partition go on below resumeBelow).
    fc.assert(
      fc.property(scenario, (s) => {
        run(s, (_budget, model, { wakes, readyBefore }) => {
          if (wakes === undefined || readyBefore === undefined) return
          const turnedReady = model.owned.some((p, i) => !readyBefore[i]! && model.ready(p))
          if (turnedReady) expect(wakes).to.equal(true)
        })
      }),
      { numRuns: 2000 },
    )
  })

  it('lets a partition alone use all but the reserves of the others', () => {
    const budget = new FairBudget(150, 75)
    budget.assign([0, 1, 2, 3].map((partition) => ({ topic: 't', partition, epoch: 1 })))
    let delivered = 0
    while (budget.mayDeliver('t', 0, 1)) {
      budget.delivered('t', 0, 1)
      delivered++
    }
    expect(budget.reserve).to.equal(18)
    expect(delivered).to.equal(150 - 3 * 18)
    // The others still run: 18 each at least.
    for (const partition of [1, 2, 3]) expect(budget.mayDeliver('t', partition, 1)).to.equal(true)
  })

  it('adopts a partition it was not told about (a client without GROUP_JOIN), and ignores old epochs', () => {
    const budget = new FairBudget(10, 5)
    expect(budget.mayDeliver('t', 0, 1)).to.equal(true)
    budget.delivered('t', 0, 1)
    expect(budget.reserve).to.equal(5)
    budget.assign([{ topic: 't', partition: 0, epoch: 2 }])
    expect(budget.mayDeliver('t', 0, 1)).to.equal(false)
    budget.finished('t', 0, 1) // the straggler of epoch 1 leaves the total
    expect(budget.inFlight).to.equal(0)
  })
})

describe('yieldsBatch', () => {
  it('never returns a batch while no other partition is ready, and within one interval once one is', () => {
    // Mutation caught: dropping `state.readyOther &&` returns a stuck partition's batch, only to fetch it
    // again at once, with nobody else to serve: a busy loop.
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), fc.nat(2_000), fc.integer({ min: 1, max: 1_000 }), (readyOther, deliveredSince, stuck, waitedMs, interval) => {
        const back = yieldsBatch({ readyOther, deliveredSince, stuck, waitedMs, interval })
        if (!readyOther) expect(back).to.equal(false)
        if (readyOther && waitedMs >= interval) expect(back).to.equal(true)
        // Without a delivery since the last return, not before a full interval: no busy refetch loop.
        if (!deliveredSince && waitedMs < interval) expect(back).to.equal(false)
        // A partition that progresses keeps its batch (fetching it again costs a whole fetch) up to an interval.
        // Mutation caught: dropping `state.stuck &&`.
        if (!stuck && waitedMs < interval) expect(back).to.equal(false)
        // A stuck one goes back at once while fetching is productive: the others are not held up.
        if (readyOther && stuck && deliveredSince) expect(back).to.equal(true)
      }),
      { numRuns: 300 },
    )
  })
})
