import { expect } from 'chai'
import fc from 'fast-check'
import { defer, finalize, map, NEVER, Subject, throwError, timer, VirtualAction, VirtualTimeScheduler, type Observable } from 'rxjs'
import { type TestScheduler } from 'rxjs/testing'
import { seededRandom } from '../lib/testing/seeded-random'
import { interjections, type AssignedPartition, type PartitionEvent } from '../operators/interjections'
import { marbleScheduler } from './marble-scheduler'

const assigned = (partition: number, epoch: number, topic = 't'): PartitionEvent => ({ type: 'assigned', topic, partition, epoch })
const revoked = (partition: number, epoch: number, topic = 't'): PartitionEvent => ({ type: 'revoked', topic, partition, epoch })

describe('interjections (marbles)', () => {
  let scheduler: TestScheduler
  beforeEach(() => {
    scheduler = marbleScheduler()
  })

  it('behaves as the JSDoc sketch shows: first run one wait after assign, next wait from the end of a run, revoke cancels', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const events = hot('a--------r', { a: assigned(0, 1), r: revoked(0, 1) })
      const task = cold('--(x|)')
      expectObservable(interjections(events, () => task, { every: 3, scheduler })).toBe('-----x-----')
      expectSubscriptions(task.subscriptions).toBe(['---^-!', '--------^!'])
    })
  })

  it('runs per partition, each on its own timer, and passes the partition to the task', () => {
    scheduler.run(({ hot, expectObservable }) => {
      // p0: runs at 2 and 5 (each 1 frame, then a wait of 2); p1, assigned at 2: runs at 4 and 7.
      const events = hot('a-b---', { a: assigned(0, 1), b: assigned(1, 1) })
      const task = (p: AssignedPartition): Observable<string> => timer(1, scheduler).pipe(map(() => `${p.topic}${p.partition}@${p.epoch}`))
      expectObservable(interjections(events, task, { every: 2, scheduler }), '^--------!').toBe('---x-yx-y-', { x: 't0@1', y: 't1@1' })
    })
  })

  it('adds every + jitter * random() to each wait', () => {
    // random() returns 0.5, then 0: waits of 2 + 4 * 0.5 = 4, then 2 + 0 = 2.
    const values = [0.5, 0, 0.5, 0]
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const task = cold('(x|)')
      const out = interjections(hot('a', { a: assigned(0, 1) }), () => task, { every: 2, jitter: 4, scheduler, random: () => values.shift()! })
      expectObservable(out, '^----------!').toBe('----x-x---x')
      expectSubscriptions(task.subscriptions).toBe(['----(^!)', '------(^!)', '----------(^!)'])
    })
  })

  it('never overlaps runs of one partition: a slow run delays the next', () => {
    scheduler.run(({ hot, cold, expectSubscriptions, expectObservable }) => {
      const task = cold('-----(x|)')
      expectObservable(interjections(hot('a', { a: assigned(0, 1) }), () => task, { every: 1, scheduler }), '^-------------!').toBe('------x-----x-')
      expectSubscriptions(task.subscriptions).toBe(['-^----!', '-------^----!', '-------------^!'])
    })
  })

  it('restarts on a newer epoch (cancelling the run of the old one), and ignores a replay of the current epoch', () => {
    scheduler.run(({ hot, cold, expectSubscriptions, expectObservable }) => {
      // b replays epoch 1 (no effect); c assigns epoch 2 while epoch 1's run is under way.
      const events = hot('a-b-c-------', { a: assigned(0, 1), b: assigned(0, 1), c: assigned(0, 2) })
      const task = cold('---(x|)')
      expectObservable(interjections(events, () => task, { every: 3, scheduler }), '^----------!').toBe('----------x')
      expectSubscriptions(task.subscriptions).toBe(['---^!', '-------^--!'])
    })
  })

  it('ignores events of an older epoch, and no run starts after a revoke', () => {
    scheduler.run(({ hot, cold, expectSubscriptions, expectObservable }) => {
      // c (a late revoke of epoch 1) does not stop epoch 2; d revokes it before its first run.
      const events = hot('a-b-c-d------', { a: assigned(0, 1), b: assigned(0, 2), c: revoked(0, 1), d: revoked(0, 2) })
      const task = cold('(x|)')
      expectObservable(interjections(events, () => task, { every: 5, scheduler }), '^-----------!').toBe('------------')
      expectSubscriptions(task.subscriptions).toBe([])
    })
  })

  it('completes when the events complete and the runs under way ended; starts no run after that', () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const events = hot('ab--|', { a: assigned(0, 1), b: assigned(1, 1) })
      const task = (p: AssignedPartition) => (p.partition === 0 ? cold('---(x|)') : cold('(y|)'))
      // p0's run started at 2 and ends at 5; p1's next run (due at 5) never starts.
      expectObservable(interjections(events, task, { every: 2, scheduler })).toBe('---y-(x|)')
    })
    scheduler = marbleScheduler() // a second run() on one TestScheduler would not start at frame 0
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(interjections(cold<PartitionEvent>('a-|', { a: assigned(0, 1) }), () => NEVER, { every: 5, scheduler })).toBe('--|')
    })
  })

  it('errors with a task that throws or errors, and stops every other run', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const other = cold('----x')
      const task = (p: AssignedPartition): Observable<string> => (p.partition === 0 ? throwError(() => new Error('boom')) : other)
      expectObservable(interjections(hot('ba', { a: assigned(0, 1), b: assigned(1, 1) }), task, { every: 2, scheduler })).toBe('---#', {}, new Error('boom'))
      expectSubscriptions(other.subscriptions).toBe('--^!')
    })
    scheduler = marbleScheduler()
    scheduler.run(({ hot, expectObservable }) => {
      const task = (): Observable<never> => {
        throw new Error('sync')
      }
      expectObservable(interjections(hot('a', { a: assigned(0, 1) }), task, { every: 2, scheduler })).toBe('--#', {}, new Error('sync'))
    })
  })

  it('errors with the events stream, and with a malformed event', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(interjections(hot('a-#', { a: assigned(0, 1) }), () => NEVER, { every: 5, scheduler })).toBe('--#')
      expectObservable(interjections(hot('-a', { a: { type: 'moved' } as unknown as PartitionEvent }), () => NEVER, { every: 5, scheduler })).toBe(
        '-#',
        {},
        new TypeError('interjections: not a partition event: {"type":"moved"}'),
      )
    })
  })

  it('rejects bad arguments at call time', () => {
    const events = new Subject<PartitionEvent>()
    expect(() => interjections(events, 'x' as never, { every: 1 })).to.throw(TypeError)
    expect(() => interjections(events, () => NEVER, { every: 0 })).to.throw(RangeError)
    expect(() => interjections(events, () => NEVER, { every: NaN })).to.throw(RangeError)
    expect(() => interjections(events, () => NEVER, { every: 1, jitter: -1 })).to.throw(RangeError)
    expect(() => interjections(events, () => NEVER, { every: 1, random: 3 as never })).to.throw(TypeError)
    expect(() => interjections(events, () => NEVER, undefined as never)).to.throw(TypeError)
  })
})

describe('interjections (property)', () => {
  // One step of the group, at a time: revoke everything, then assign a subset (kafkajs's eager rebalance),
  // optionally without the revokes first (a rejoin), or replay the current assignment (a late subscriber).
  const step = fc.record({
    gap: fc.integer({ min: 0, max: 30 }),
    kind: fc.constantFrom('rebalance', 'rejoin', 'revokeAll', 'replay'),
    partitions: fc.subarray([0, 1, 2]),
  })

  it('runs a task only for a partition owned under that epoch, never two at once per partition, and each long ownership runs', () => {
    // Invariants: (1) a task starts only while its partition is owned under the task's epoch, and its run has
    // ended by the time the partition is revoked or re-assigned; (2) never two runs of one partition at once;
    // (3) a partition owned for longer than every + jitter without a run under way at the start gets a run.
    // Mutations seen to fail it: `stop` not unsubscribing the running task (1); the next run scheduled at the
    // start of a run (a fixed rate) instead of at its end (2); an `assigned` ignored whenever the partition
    // has a runner, whatever its epoch (1, a rejoin); a replay of the current epoch restarting the timer (3).
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 10 }),
        fc.integer(),
        (steps, every, jitter, durations, seed) => {
          // Bounded, so that a mutant whose timers never stop fails instead of hanging.
          const end = steps.reduce((sum, s) => sum + s.gap, 0) + 100
          const scheduler = new VirtualTimeScheduler(VirtualAction, end + 50)
          const events = new Subject<PartitionEvent>()
          const owned = new Map<number, number>() // partition -> epoch
          const running = new Map<number, number>() // partition -> epoch of its run
          const starts: { partition: number; at: number }[] = []
          const violations: string[] = []
          let n = 0
          const task = (p: AssignedPartition): Observable<number> =>
            defer(() => {
              if (owned.get(p.partition) !== p.epoch) violations.push(`p${p.partition}@${p.epoch} ran while not owned at ${scheduler.now()}`)
              if (running.has(p.partition)) violations.push(`p${p.partition} ran twice at once at ${scheduler.now()}`)
              running.set(p.partition, p.epoch)
              starts.push({ partition: p.partition, at: scheduler.now() })
              return timer(durations[n++ % durations.length]!, scheduler).pipe(finalize(() => running.delete(p.partition)))
            })
          const sub = interjections(events, task, { every, jitter, scheduler, random: seededRandom(seed) }).subscribe({ error: (e) => violations.push(String(e)) })
          const periods: { partition: number; from: number; to: number }[] = []
          const since = new Map<number, number>()
          const emit = (event: PartitionEvent): void => {
            if (event.type === 'assigned') {
              if (owned.get(event.partition) !== event.epoch) since.set(event.partition, scheduler.now())
              owned.set(event.partition, event.epoch)
            } else {
              owned.delete(event.partition)
              periods.push({ partition: event.partition, from: since.get(event.partition)!, to: scheduler.now() })
              since.delete(event.partition)
            }
            events.next(event)
            for (const [p, e] of running) if (owned.get(p) !== e) violations.push(`p${p}@${e} still running after its ownership ended`)
          }
          let epoch = 0
          let at = 0
          for (const s of steps) {
            at += s.gap
            scheduler.schedule(() => {
              const before = [...owned]
              if (s.kind === 'replay') {
                for (const [p, e] of before) emit(assigned(p, e))
                return
              }
              if (s.kind !== 'rejoin') for (const [p, e] of before) emit(revoked(p, e))
              if (s.kind === 'revokeAll') return
              epoch++
              if (s.kind === 'rejoin') for (const [p, e] of before) if (!s.partitions.includes(p)) emit(revoked(p, e))
              for (const p of s.partitions) emit(assigned(p, epoch))
            }, at)
          }
          scheduler.schedule(() => {
            for (const [p, e] of [...owned]) emit(revoked(p, e))
          }, end)
          scheduler.flush()
          sub.unsubscribe()
          expect(violations).to.deep.equal([])
          // (3): a period with no run under way at its start, longer than one wait, saw a run start in it.
          for (const { partition, from, to } of periods) {
            if (to - from <= every + jitter) continue
            expect(starts.some((s) => s.partition === partition && s.at > from && s.at < to), `p${partition} owned ${from}-${to}`).to.equal(true)
          }
        },
      ),
      { numRuns: 500 },
    )
  })
})
