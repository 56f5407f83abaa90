import { expect } from 'chai'
import fc from 'fast-check'
import { TransactionPlan, type PlannedTransaction } from '../lib/transactions/transaction-plan'
import type { RecordOrigin } from '../operators/record-origin'

interface Rec { readonly item: RecordOrigin }

type Op =
  | { kind: 'deliver'; p: number }
  | { kind: 'reassign'; p: number }
  | { kind: 'take'; p: number; max: number }
  | { kind: 'settle'; p: number; ok: boolean }

const PARTITIONS = 3
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), p: fc.nat(PARTITIONS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reassign' as const), p: fc.nat(PARTITIONS - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('take' as const), p: fc.nat(PARTITIONS - 1), max: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('settle' as const), p: fc.nat(PARTITIONS - 1), ok: fc.boolean() }) },
)

const id = (r: Rec): string => `${r.item.partition}/${r.item.epoch}/${r.item.seq}`

describe('TransactionPlan', () => {
  // Invariant: a transaction holds at most `max` consecutive records of one partition's current epoch, at most
  // one per partition is out, and every delivered record ends in exactly one committed transaction or (its
  // epoch revoked) released as stale: none lost, none twice, in delivery order per epoch.
  //
  // Mutations seen caught: take without the stale filter (a revoked epoch's record in a transaction: "stale
  // record in a transaction"); take ignoring `busy` (two out: "two transactions out"); settle(committed)
  // not removing the records (committed twice) or settle(failed) removing them (lost); take without `end <
  // max` (over max). ("mixed epochs" is defensive: with isStale current, an older epoch at the head is
  // always stale and dropped first, so a take crossing epochs was not seen to fail here.)
  it('hands out consecutive records of one current epoch, one transaction per partition, each record committed once', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const plan = new TransactionPlan<Rec>()
        const epoch = Array.from({ length: PARTITIONS }, () => 0)
        const seq = Array.from({ length: PARTITIONS }, () => 0)
        const delivered: Rec[] = []
        const out = new Map<number, PlannedTransaction<Rec>>()
        const committed: string[] = []
        const stale: Rec[] = []
        const isStale = (r: RecordOrigin): boolean => r.epoch !== epoch[r.partition]
        const take = (p: number, max: number): void => {
          const before = out.has(p)
          const tx = plan.take('t', p, max, isStale, stale)
          if (tx === undefined) return
          expect(before, 'two transactions out').to.equal(false)
          expect(tx.records.length).to.be.within(1, max)
          for (const [i, r] of tx.records.entries()) {
            expect(r.item.partition).to.equal(p)
            expect(r.item.epoch, 'mixed epochs').to.equal(tx.epoch)
            expect(isStale(r.item), 'stale record in a transaction').to.equal(false)
            if (i > 0) expect(r.item.seq).to.equal(tx.records[i - 1]!.item.seq + 1)
          }
          out.set(p, tx)
        }
        const settle = (p: number, ok: boolean): void => {
          const tx = out.get(p)
          if (tx === undefined) return
          out.delete(p)
          plan.settle(tx, ok)
          if (ok) committed.push(...tx.records.map(id))
        }
        for (const o of ops) {
          if (o.kind === 'deliver') {
            const r: Rec = { item: { topic: 't', partition: o.p, epoch: epoch[o.p]!, seq: seq[o.p]!++, offset: String(delivered.length) } }
            delivered.push(r)
            plan.add(r)
          } else if (o.kind === 'reassign') {
            epoch[o.p]!++
            seq[o.p] = 0
          } else if (o.kind === 'take') take(o.p, o.max)
          else settle(o.p, o.ok)
        }
        // Drain: settle what is out, then commit everything still waiting.
        for (let p = 0; p < PARTITIONS; p++) {
          settle(p, true)
          for (let guard = 0; guard < 200 && (take(p, 3), out.has(p)); guard++) settle(p, true)
        }
        expect(plan.idle).to.equal(true)
        const ends = [...committed, ...stale.map(id)]
        expect(new Set(ends).size, 'a record committed twice, or committed and released').to.equal(ends.length)
        expect([...ends].sort()).to.deep.equal(delivered.map(id).sort())
        // Per (partition, epoch), commits come in delivery order.
        const lastSeq = new Map<string, number>()
        for (const c of committed) {
          const [p, e, s] = c.split('/')
          const k = `${p}/${e}`
          expect(Number(s)).to.be.greaterThan(lastSeq.get(k) ?? -1)
          lastSeq.set(k, Number(s))
        }
      }),
      { numRuns: 500 },
    )
  })

  // Mutation seen caught: add without the seq check (a hole would let a commit pass a record not yet seen).
  it('refuses a record out of delivery order, naming orderedMerge', () => {
    const plan = new TransactionPlan<Rec>()
    plan.add({ item: { topic: 't', partition: 0, epoch: 0, seq: 0, offset: '0' } })
    expect(() => plan.add({ item: { topic: 't', partition: 0, epoch: 0, seq: 2, offset: '2' } })).to.throw(/out of delivery order.*orderedMerge/)
  })

  it('sets aside records of an epoch older than one already seen: never in a transaction', () => {
    const plan = new TransactionPlan<Rec>()
    plan.add({ item: { topic: 't', partition: 0, epoch: 1, seq: 0, offset: '5' } })
    plan.add({ item: { topic: 't', partition: 0, epoch: 0, seq: 7, offset: '7' } })
    expect(plan.takeLateStale().map((r) => r.item.offset)).to.deep.equal(['7'])
    expect(plan.take('t', 0, 10, () => false, [])?.records.map((r) => r.item.offset)).to.deep.equal(['5'])
  })
})
