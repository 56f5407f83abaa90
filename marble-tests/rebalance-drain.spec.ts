import { Observable } from 'rxjs'
import { type TestScheduler } from 'rxjs/testing'
import { RebalanceDrain } from '../lib/source/rebalance-drain'
import { OffsetTracker } from '../lib/tracker/offset-tracker'
import { PartitionEpochs } from '../lib/tracker/partition-epochs'
import type { RecordOrigin, TrackedCommitOffset } from '../lib/record/record'
import { marbleScheduler } from './marble-scheduler'

// Partition 0 of topic t holds `inFlight` records (offsets 0..inFlight-1); each value of `finishes` finishes the
// record at that offset; `rebalances` starts the drain (a heartbeat found the group rebalancing). The output is
// the drain's commit at the frame it is sent, as the next offset of partition 0 ('-' for none), then complete.
function drainCommits(
  scheduler: TestScheduler, inFlight: number, budget: number,
  events: { rebalances: Observable<unknown>; finishes: Observable<string>; revokes?: Observable<unknown> },
): Observable<string> {
  return new Observable<string>((subscriber) => {
    const epochs = new PartitionEpochs()
    epochs.assign({ t: [0] })
    let drain!: RebalanceDrain
    const tracker = new OffsetTracker({ onRelease: () => drain.released() })
    const sink = {
      commit: async (offsets: readonly TrackedCommitOffset[]) => {
        subscriber.next(offsets.length === 0 ? '-' : offsets.map((o) => o.offset).join(','))
        subscriber.complete()
        return offsets.slice()
      },
    }
    drain = new RebalanceDrain(budget, tracker, epochs, sink, scheduler)
    const records: RecordOrigin[] = []
    for (let offset = 0; offset < inFlight; offset++) {
      records.push({ topic: 't', partition: 0, offset: String(offset), seq: offset, epoch: epochs.epochOf('t', 0)! })
      tracker.deliver(records[offset]!)
    }
    const subs = [
      events.rebalances.subscribe(() => void drain.run(() => Promise.resolve(), 5)),
      events.finishes.subscribe((offset) => void tracker.finish(records[Number(offset)]!)),
      events.revokes?.subscribe(() => {
        // What the session does on kafkajs's REBALANCING/GROUP_JOIN: the drain ends, nothing is owned.
        drain.reset()
        epochs.revokeAll()
        subscriber.next('reset')
      }),
    ]
    return () => subs.forEach((s) => s?.unsubscribe())
  })
}

// The deadline in virtual time. Mutations seen to fail (each made by hand in RebalanceDrain.run, then undone):
// the offsets taken one frame after the drain's end (the later finish gets in, and the frame is off by one);
// taken when the drain starts (nothing finished yet); the last delivered offset + 1 instead of the finished
// prefix (past the record still running).
describe('RebalanceDrain (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = marbleScheduler()
  })

  it('commits at the last finish when every owned record finished before the deadline', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const rebalances = hot('-r')
      const finishes = hot('---0-2--1', { 0: '0', 1: '1', 2: '2' })
      expectObservable(drainCommits(scheduler, 3, 20, { rebalances, finishes })).toBe('--------(c|)', { c: '3' })
    })
  })

  it('at the deadline, commits the finished prefix only: a record still running stops it, a later finish is left out', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const rebalances = hot('-r')
      // 1 finishes at frame 14, after the deadline (1 + 10): the commit stays at 1, and 2 (finished) is behind it.
      const finishes = hot('--0--2--------1', { 0: '0', 1: '1', 2: '2' })
      expectObservable(drainCommits(scheduler, 3, 10, { rebalances, finishes })).toBe('-----------(c|)', { c: '1' })
    })
  })

  it('commits nothing when the oldest record is still running at the deadline', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const rebalances = hot('-r')
      const finishes = hot('---1--2', { 1: '1', 2: '2' })
      expectObservable(drainCommits(scheduler, 3, 6, { rebalances, finishes })).toBe('-------(c|)', { c: '-' })
    })
  })

  it('a rejoin before the deadline ends the drain without its commit (the revoke commits, as without a drain)', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const rebalances = hot('-r')
      const finishes = hot('--0', { 0: '0' })
      const revokes = hot('----x')
      expectObservable(drainCommits(scheduler, 2, 10, { rebalances, finishes, revokes })).toBe('----r', { r: 'reset' })
    })
  })

  it('a second heartbeat error during the drain shares it: one deadline, one commit', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const rebalances = hot('-r--r')
      const finishes = hot('--0', { 0: '0' })
      expectObservable(drainCommits(scheduler, 2, 8, { rebalances, finishes })).toBe('---------(c|)', { c: '1' })
    })
  })
})
