import { expect } from 'chai'
import { Subject } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { publishTransactional, type TransactionCommit, type TransactionalSource } from '../lib/transactions/publish-transactional'
import type { TransactionLike, TransactionalProducerLike } from '../lib/client/transactions'
import type { Processed } from '../operators/processed'
import type { RecordOrigin } from '../operators/record-origin'
import { forward, type OutputMessage, type Result } from '../operators/result'
import { records, type RecordSpec, type TestRecord } from '../lib/testing/records'
import { marbleScheduler } from './marble-scheduler'

// What decides when a transaction closes (run.ts: the interval timer, maxBatchSize, one transaction out per
// partition, revoked epochs dropped at take) in virtual time. The producer's steps are promises, so the
// frames are stepped one at a time with the promises settled in between (TestScheduler.run flushes every
// frame synchronously, before any promise could settle); the marbles are parsed as in run mode, a frame per
// character. Each record's output is its own letter; a transaction's marble value is what it wrote.

type In = Processed<TestRecord, Result<OutputMessage>>

/** A broker whose transactions commit `commitFrames` frames after `commit()`; `failCommits` commits fail. */
class VirtualBroker {
  /** What each committed transaction wrote, at the frame it committed. */
  readonly committed: { frame: number; notification: { kind: 'N'; value: string } }[] = []
  readonly offsets = new Map<string, string>()
  failCommits = 0
  constructor(private readonly scheduler: TestScheduler, private readonly commitFrames = 0) {}

  producer = (): TransactionalProducerLike => ({
    connect: async () => undefined,
    disconnect: async () => undefined,
    transaction: async (): Promise<TransactionLike> => {
      let written = ''
      let offsets: [string, string][] = []
      return {
        sendBatch: async (b) => void (written += b.topicMessages.flatMap((t) => t.messages.map((m) => String(m.value))).join('')),
        sendOffsets: async (o) => void (offsets = o.topics.flatMap((t) => t.partitions.map((p) => [`${t.topic}/${p.partition}`, p.offset] as [string, string]))),
        commit: () => new Promise<void>((resolve, reject) => this.scheduler.schedule(() => {
          if (this.failCommits > 0) {
            this.failCommits--
            return reject(new Error('REQUEST_TIMED_OUT'))
          }
          for (const [k, v] of offsets) this.offsets.set(k, v)
          this.committed.push({ frame: this.scheduler.now(), notification: { kind: 'N', value: written } })
          resolve()
        }, this.commitFrames)),
        abort: async () => undefined,
      }
    },
  })

  admin = {
    fetchOffsets: async ({ topics }: { groupId: string; topics: string[] }) => topics.map((topic) => ({
      topic,
      partitions: [...this.offsets].filter(([k]) => k.startsWith(`${topic}/`)).map(([k, offset]) => ({ partition: Number(k.split('/')[1]), offset })),
    })),
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Marbles as run mode reads them (one frame per character), as `{ frame, notification }` to compare. */
function parse(marbles: string, values?: Record<string, unknown>): { frame: number; notification: { kind: string; value?: unknown } }[] {
  const factor = TestScheduler.frameTimeFactor
  TestScheduler.frameTimeFactor = 1 // as TestScheduler.run sets it
  try {
    return TestScheduler.parseMarbles(marbles, values, undefined, undefined, true).map(({ frame, notification: n }) =>
      ({ frame, notification: n.kind === 'N' ? { kind: 'N', value: n.value } : { kind: n.kind } }))
  } finally {
    TestScheduler.frameTimeFactor = factor
  }
}

/**
 * Plays `input` (letters: records, each forwarding its letter) into publishTransactional, stepping virtual
 * time one frame at a time up to `frames`; returns what the broker committed and what the operator emitted
 * (`<partition>:<records>` per transaction), each with its frame. `revoke` runs at its frame.
 */
async function play(
  scheduler: TestScheduler, broker: VirtualBroker, input: string, specs: Record<string, RecordSpec>,
  options: { interval: number; maxBatchSize: number; backoff?: number }, frames: number, revoke: { frame: number; partition: number; epoch: number }[] = [],
) {
  const values = records(specs, { topic: 'in' })
  const revoked: { partition: number; epoch: number }[] = []
  const finished: string[] = []
  const source: TransactionalSource = {
    tracker: { finish: (r) => (finished.push(String((r as TestRecord).value)), true), committed: () => undefined },
    isStale: (r: RecordOrigin) => revoked.some((x) => x.partition === r.partition && r.epoch <= x.epoch),
    delegateCommits: () => () => undefined,
  }
  const subject = new Subject<In>()
  const emitted: { frame: number; notification: { kind: string; value?: string } }[] = []
  subject.pipe(publishTransactional(source, {
    consumerGroupId: 'g', topic: 'out', producer: broker.producer, admin: broker.admin, scheduler,
    interval: options.interval, maxBatchSize: options.maxBatchSize, backoff: () => options.backoff ?? 1,
  })).subscribe({
    next: (c: TransactionCommit) => emitted.push({ frame: scheduler.now(), notification: { kind: 'N', value: `${c.partition}:${c.records}` } }),
    complete: () => emitted.push({ frame: scheduler.now(), notification: { kind: 'C' } }),
  })
  for (const { frame, notification } of parse(input, values)) {
    scheduler.schedule(() => {
      if (notification.kind === 'N') subject.next({ item: notification.value as TestRecord, results: [forward({ key: null, value: String((notification.value as TestRecord).value) })] })
      else if (notification.kind === 'C') subject.complete()
    }, frame)
  }
  for (const r of revoke) scheduler.schedule(() => void revoked.push(r), r.frame)
  // Each frame until nothing is due in it: what a settled promise scheduled for now runs in this frame too.
  for (let frame = 0; frame <= frames; frame++) {
    scheduler.maxFrames = frame
    do {
      scheduler.flush()
      await settle()
    } while (scheduler.actions.some((a) => a.delay <= frame))
  }
  return { committed: broker.committed, emitted, finished }
}

const letters = (partition: number, epoch: number, ...ls: string[]): Record<string, RecordSpec> =>
  Object.fromEntries(ls.map((l) => [l, { partition, epoch, value: l }]))

describe('publishTransactional (marbles: when a transaction closes)', () => {
  let scheduler: TestScheduler
  beforeEach(() => (scheduler = marbleScheduler()))

  // Mutation seen caught: the timer scheduled for `interval * 2` (ab and xy at 12, not 6).
  it('collapses what each partition has waiting into one transaction per interval, partitions side by side', async () => {
    const broker = new VirtualBroker(scheduler)
    const { committed, emitted } = await play(scheduler, broker, 'a-x-b-y-c-------d--|', { ...letters(0, 0, 'a', 'b', 'c', 'd'), ...letters(1, 0, 'x', 'y') }, { interval: 6, maxBatchSize: 100 }, 30)
    // The interval ticks while records wait, from a at 0: at 6 partition 0's a, b and partition 1's x, y (y
    // came at 6) go, one transaction each; at 12 c (came at 8); at 18 d (came at 16); the end finds none.
    expect(committed).to.deep.equal(parse('------(pq)--r-----s', { p: 'ab', q: 'xy', r: 'c', s: 'd' }))
    expect(emitted).to.deep.equal(parse('------(pq)--r-----s|', { p: '0:2', q: '1:2', r: '0:1', s: '0:1' }))
    expect(Object.fromEntries(broker.offsets)).to.deep.equal({ 'in/0': '4', 'in/1': '2' })
  })

  // Mutation seen caught: no start at once (both `queued >= maxBatchSize` checks of run.ts, accept's and
  // startDue's, removed): abc at 10. Either alone is covered by the other.
  it('starts a transaction at once when maxBatchSize records of a partition wait, without waiting for the interval', async () => {
    const broker = new VirtualBroker(scheduler)
    const { committed } = await play(scheduler, broker, 'abcd------------|', letters(0, 0, 'a', 'b', 'c', 'd'), { interval: 10, maxBatchSize: 3 }, 20)
    expect(committed).to.deep.equal(parse('--x-------y', { x: 'abc', y: 'd' }))
  })

  // Mutation seen caught: TransactionPlan.settle dropping one record too many (d never written). take ignoring
  // `busy` is not visible here (PartitionProducer runs a partition's transactions one after another and skips
  // what committed); spec/transaction-plan.spec.ts's property catches it.
  it('holds one transaction per partition at a time: what arrives meanwhile goes in the next', async () => {
    const broker = new VirtualBroker(scheduler, 3) // a commit takes 3 frames
    const { committed, emitted } = await play(scheduler, broker, 'abc-d-e---|', letters(0, 0, 'a', 'b', 'c', 'd', 'e'), { interval: 2, maxBatchSize: 3 }, 20)
    // abc full at 2, committed at 5; d (4) and e (6) wait; the interval after 5 ends at 6: de, committed at 9.
    expect(committed).to.deep.equal(parse('-----x---y', { x: 'abc', y: 'de' }))
    expect(emitted).to.deep.equal(parse('-----x---y|', { x: '0:3', y: '0:2' }))
  })

  // Mutation seen caught: TransactionPlan.take not dropping stale heads (a and b written at 4).
  it('never puts records of a partition revoked meanwhile in a transaction; the next epoch goes alone', async () => {
    const broker = new VirtualBroker(scheduler)
    const specs = { ...letters(0, 0, 'a', 'b'), ...letters(1, 0, 'm'), ...letters(0, 1, 'x') }
    // Partition 0 revoked at 2 (its epoch 0), assigned again: x is epoch 1.
    const { committed, finished } = await play(scheduler, broker, 'amb--x------|', specs, { interval: 4, maxBatchSize: 100 }, 20, [{ frame: 2, partition: 0, epoch: 0 }])
    // At 4 a and b (revoked) are dropped and m goes; x (came at 5) at the next tick, 8, on its own.
    expect(committed).to.deep.equal(parse('----m---x', { m: 'm', x: 'x' }))
    expect(finished).to.include.members(['a', 'b']) // released for the in-flight budget, never committed
    expect(Object.fromEntries(broker.offsets)).to.deep.equal({ 'in/0': '3', 'in/1': '1' })
  })

  // Mutation seen caught: the same (c written at 6).
  it('drops what waited behind a transaction out once its partition is revoked', async () => {
    const broker = new VirtualBroker(scheduler, 3)
    const { committed, finished } = await play(scheduler, broker, 'abc------|', letters(0, 0, 'a', 'b', 'c'), { interval: 2, maxBatchSize: 2 }, 20, [{ frame: 3, partition: 0, epoch: 0 }])
    // ab full at 1 (out until 4); c waits behind it; revoked at 3: at the next tick, 6, c is dropped, not sent.
    expect(committed).to.deep.equal(parse('----x', { x: 'ab' }))
    expect(finished).to.deep.equal(['a', 'b', 'c'])
  })

  // Mutation seen caught: the retry scheduled without its backoff (ab committed at 2, not 5).
  it('runs a failed transaction again after its backoff, the same records, nothing of the failed one committed', async () => {
    const broker = new VirtualBroker(scheduler)
    broker.failCommits = 1
    const { committed, emitted } = await play(scheduler, broker, 'ab----|', letters(0, 0, 'a', 'b'), { interval: 2, maxBatchSize: 100, backoff: 3 }, 20)
    // ab at 2 fails; retried at 5 on a new producer: committed once, the second attempt.
    expect(committed).to.deep.equal(parse('-----x', { x: 'ab' }))
    expect(emitted).to.deep.equal(parse('-----x|', { x: '0:2' }))
  })
})
