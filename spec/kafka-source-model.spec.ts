import { expect } from 'chai'
import fc from 'fast-check'
import { lastValueFrom } from 'rxjs'
import { fromKafka, type SourceRecord } from '../lib/source/from-kafka'
import type { TrackedCommitOffset } from '../lib/record/record'
import { FakeConsumer, type LogEntry } from './fixtures/fake-consumer'

// Random partition logs (offset gaps, transaction markers), random fetch sizes, random finishing order,
// random rebalances (with and without REBALANCING, also while a batch waits for budget) and stale commit
// attempts, against a fake consumer that behaves like kafkajs 2.2.4.

const flush = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
}

const logArb = fc
  .array(fc.record({ gap: fc.nat(2), control: fc.boolean(), key: fc.constantFrom('a', 'b', null) }), { maxLength: 16, size: 'medium' })
  .map((entries) => {
    let offset = -1
    return entries.map(({ gap, control, key }): LogEntry => {
      offset += 1 + gap
      return { offset, key: key === null ? null : Buffer.from(key), value: Buffer.from(String(offset)), ...(control ? { control } : {}) }
    })
  })

type Op =
  | { kind: 'fetch'; partition: number; max: number }
  | { kind: 'finish'; pick: number }
  | { kind: 'commit' }
  | { kind: 'snapshot' }
  | { kind: 'commitSnapshot' }
  | { kind: 'rebalance'; partitions: number[] }
  | { kind: 'silentRejoin'; partitions: number[] }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('fetch' as const), partition: fc.integer({ min: 0, max: 1 }), max: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'commit' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'commitSnapshot' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rebalance' as const), partitions: fc.subarray([0, 1]) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('silentRejoin' as const), partitions: fc.subarray([0, 1]) }) },
)

interface Scenario {
  logs: [LogEntry[], LogEntry[]]
  maxInFlight: number
  resumeBelow: number
  ops: Op[]
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .integer({ min: 1, max: 12 })
  .chain((maxInFlight) =>
    fc.record({
      logs: fc.tuple(logArb, logArb),
      maxInFlight: fc.constant(maxInFlight),
      resumeBelow: fc.integer({ min: 0, max: maxInFlight - 1 }),
      ops: fc.array(opArb, { maxLength: 60, size: 'max' }),
    }),
  )

async function runScenario({ logs, maxInFlight, resumeBelow, ops }: Scenario): Promise<void> {
  const fake = new FakeConsumer({ t: [logs[0], logs[1]] })
  const source = fromKafka(fake, { topics: ['t'], fromBeginning: true, maxInFlight, resumeBelow, budgetHeartbeatInterval: 1,
    // This model covers the revoke on rebalance; the drain before rejoin has its own specs.
    drainOnRebalance: 0 })
  const records = logs.map((log) => log.filter((e) => e.control !== true).map((e) => e.offset))
  const finished = [new Set<number>(), new Set<number>()]
  const pending: SourceRecord<Buffer | null, Buffer | null>[] = []
  const lastInEpoch = new Map<string, number>() // `${partition}/${epoch}` -> last delivered offset
  const problems: string[] = []
  let generation = 0
  const lastCommit = new Map<string, number>() // `${generation}/${partition}` -> last offset sent

  fake.onCommit = (offsets) => {
    for (const { partition, offset } of offsets) {
      const c = Number(offset)
      // No loss: a commit at c means every record below c finished (in some epoch).
      const unfinished = records[partition]!.filter((o) => o < c && !finished[partition]!.has(o))
      if (unfinished.length > 0) problems.push(`commit ${partition}@${c} passes unfinished ${unfinished.join(',')}`)
      // Ownership: only partitions this member owns when the commit is sent.
      if (!fake.owns('t', partition)) problems.push(`commit ${partition}@${c} of a partition not owned`)
      // Never backwards: beyond what the broker holds (a new epoch starts reading at the committed offset).
      if (c <= (fake.committed.get(`t\u0000${partition}`) ?? -1)) problems.push(`commit ${partition}@${c} not beyond the committed offset`)
      // Progress: strictly increasing per partition within a generation.
      const id = `${generation}/${partition}`
      if ((lastCommit.get(id) ?? -1) >= c) problems.push(`commit ${partition}@${c} not beyond ${lastCommit.get(id)}`)
      lastCommit.set(id, c)
    }
  }

  const sub = source.subscribe({
    next: (r) => {
      // Bounded: never more in flight than the budget.
      if (source.tracker.inFlight > maxInFlight) problems.push(`inFlight ${source.tracker.inFlight} > ${maxInFlight}`)
      // Partition order within an epoch, no record skipped: the next record of the log after the last one.
      const id = `${r.partition}/${r.epoch}`
      const prev = lastInEpoch.get(id)
      if (prev !== undefined) {
        const expected = records[r.partition]!.find((o) => o > prev)
        if (Number(r.offset) !== expected) problems.push(`after ${prev} delivered ${r.offset}, expected ${expected}`)
      }
      lastInEpoch.set(id, Number(r.offset))
      pending.push(r)
    },
    error: (e) => problems.push(`stream error ${String(e)}`),
  })
  await flush()

  const finishOne = (index: number): void => {
    const [r] = pending.splice(index, 1)
    finished[r!.partition]!.add(Number(r!.offset))
    source.tracker.finish(r!)
  }
  let snapshot: TrackedCommitOffset[] = []
  // Like kafkajs with one broker: one fetch at a time, and its eachBatch may wait for budget meanwhile.
  let fetching: Promise<void> | undefined
  const rebalancing = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' })
  const fetch = async (partition: number, max: number): Promise<void> => {
    if (fetching !== undefined) return
    fetching = fake.fetch('t', partition, max).then(
      () => undefined,
      (e) => void (e !== rebalancing && problems.push(`eachBatch threw ${String(e)}`)),
    )
    const mine = fetching
    void mine.then(() => {
      if (fetching === mine) fetching = undefined
    })
    await flush()
  }
  // kafkajs notices a rebalance with a heartbeat: a waiting batch throws, then the member rejoins.
  const rejoin = async (partitions: number[]): Promise<void> => {
    if (fetching !== undefined) {
      fake.heartbeatError = rebalancing
      await fetching
      fake.heartbeatError = undefined
    }
    fake.join({ t: partitions })
    generation++
    await flush()
  }

  for (const op of ops) {
    switch (op.kind) {
      case 'fetch':
        await fetch(op.partition, op.max)
        break
      case 'finish':
        if (pending.length > 0) finishOne(op.pick % pending.length)
        await flush()
        break
      case 'commit':
        await lastValueFrom(source.commit(source.tracker.committable()))
        break
      case 'snapshot':
        snapshot = source.tracker.committable()
        break
      case 'commitSnapshot':
        await lastValueFrom(source.commit(snapshot))
        break
      case 'rebalance':
        await rejoin(op.partitions)
        break
      case 'silentRejoin':
        // kafkajs rejoins from its fetch path on stale metadata: GROUP_JOIN without REBALANCING, no batch running.
        if (fetching !== undefined) break
        // A commit computed just before (commitOffsets's, queued or delayed) that arrives after the rejoin.
        snapshot = source.tracker.committable()
        fake.silentJoin({ t: op.partitions })
        generation++
        await flush()
        break
    }
    expect(problems).to.deep.equal([])
  }

  // Drain: own everything, fetch and finish until the logs are consumed, then the final commit.
  await rejoin([0, 1])
  for (let round = 0; round < 200; round++) {
    while (pending.length > 0) finishOne(0)
    await flush()
    if (fetching !== undefined) continue
    if (pending.length === 0 && [0, 1].every((p) => fake.position('t', p) >= fake.endOffset('t', p))) break
    await fetch(round % 2, 5)
  }
  sub.unsubscribe()
  await source.closed()
  expect(problems).to.deep.equal([])
  for (const p of [0, 1]) {
    // Everything was processed, and the committed offset is the log end: zero lag.
    expect([...finished[p]!].sort((a, b) => a - b)).to.deep.equal(records[p])
    if (logs[p]!.length > 0) expect(fake.committed.get(`t\u0000${p}`), `partition ${p}`).to.equal(fake.endOffset('t', p))
  }
}

describe('fromKafka (model-based, fake consumer)', () => {
  it('keeps every invariant whatever the fetches, finishing order and rebalances', async () => {
    // Invariant: in flight <= maxInFlight; partition order with no gap per epoch; commits never pass an
    // unfinished record, only for owned partitions, strictly increasing; everything processed; zero lag.
    // Mutations seen to fail it: no budget check in eachBatch ('inFlight 2 > 1'); no tracker.advance after
    // a batch (lag left on a trailing marker); the sink not checking the epoch (a commit computed before a
    // rejoin sent for a partition no longer owned). Not caught, rightly: GROUP_JOIN not revoking the tracker
    // (the sink's epoch check still drops the stale offsets), REBALANCING not handled (only the best-effort
    // pre-revoke commit is lost).
    await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: 500 })
  })
})
