// The checkers on hand-made logs: each names the smallest counterexample, in words.
import { expect } from 'chai'
import {
  checkAtLeastOnce, checkCommits, checkKeyOrder, checkNothingLost, checkPartitionOrder, checkProgress, PipelineViolation,
  type RunEvent, type RunLog,
} from '../lib/testing'

const m0 = { member: 'm0', process: 0 }
const rec = (partition: number, offset: number, key: string | null = 'k') => ({ topic: 't', partition, offset, key, epoch: 1 })
const world = { topic: 't', members: 1, steps: [], partitions: [[0, 1, 2].map((offset) => ({ offset, key: 'k', value: '{}' })), [{ offset: 0, key: null, value: null }, { offset: 1, key: null, value: null, control: true }]] }
const logOf = (events: RunEvent[], committed: (number | undefined)[] = [3, 2]): RunLog => ({ world, events, committed })
const commit = (partition: number, offset: number, generation = 1, owned = true): RunEvent => ({ ...m0, kind: 'commit', generation, topic: 't', partition, offset, owned })
const done = (partition: number, offset: number): RunEvent[] => [
  { ...m0, kind: 'work-start', ...rec(partition, offset) },
  { ...m0, kind: 'work-done', ...rec(partition, offset) },
]
const allDone = [...done(0, 0), ...done(0, 1), ...done(0, 2), ...done(1, 0)]

function violation(check: (log: RunLog) => void, log: RunLog): string {
  try {
    check(log)
  } catch (error) {
    expect(error).to.be.instanceOf(PipelineViolation)
    return (error as Error).message
  }
  throw new Error('no violation found')
}

describe('kafka-rx/testing checkers', () => {
  it('a clean log passes all of them', () => {
    const log = logOf([...allDone, commit(0, 3), commit(1, 2)])
    for (const check of [checkCommits, checkAtLeastOnce, checkKeyOrder, checkPartitionOrder, checkProgress, checkNothingLost]) check(log)
  })

  it('commits: not owned, not increasing, going back', () => {
    expect(violation(checkCommits, logOf([commit(0, 1, 1, false)]))).to.equal('commits: t/0@1 by m0 (process 0) in generation 1: the partition is not assigned to it')
    expect(violation(checkCommits, logOf([commit(0, 2), commit(0, 2)]))).to.equal('commits: t/0@2 by m0 (process 0) in generation 1 does not increase (the last was 2)')
    expect(violation(checkCommits, logOf([commit(0, 2), commit(0, 1, 2)]))).to.equal('commits: t/0@1 by m0 (process 0) in generation 2 goes back below the committed 2')
  })

  it('at-least-once: the first commit past an unfinished record, and the lowest record it passes', () => {
    const events: RunEvent[] = [...done(0, 0), { ...m0, kind: 'work-start', ...rec(0, 1) }, commit(0, 3), ...done(0, 1), ...done(0, 2)]
    expect(violation(checkAtLeastOnce, logOf(events))).to.equal(
      'at-least-once: commit t/0@3 by m0 (process 0) passes t/0@1 (key "k"), which had not finished: its work was still running',
    )
  })

  it('nothing-lost and progress: the lowest record never finished; a commit short of the log end (markers count)', () => {
    expect(violation(checkNothingLost, logOf([...done(0, 0), ...done(0, 2), ...done(1, 0)]))).to.equal('nothing-lost: t/0@1 (key "k") never finished: its work never started')
    expect(violation(checkProgress, logOf(allDone, [3, 1]))).to.equal(
      'progress: t/1 ends committed at 1, its log ends at 2: only transaction markers are left',
    )
  })

  it('key-order and partition-order: overlap, reorder, duplicates; stale results are not judged', () => {
    const overlap: RunEvent[] = [{ ...m0, kind: 'work-start', ...rec(0, 0) }, { ...m0, kind: 'work-start', ...rec(0, 1) }]
    expect(violation(checkKeyOrder, logOf(overlap))).to.equal('key-order: t/0@1 (key "k") started by m0 (process 0) while t/0@0 (key "k") was still running')
    const out = (offset: number, stale = false): RunEvent => ({ ...m0, kind: 'output', ...rec(0, offset), stale })
    expect(violation(checkPartitionOrder, logOf([out(1), out(0)]))).to.equal('partition-order: t/0@0 (key "k") emitted by m0 (process 0) after t/0@1, a later offset (epoch 1)')
    checkPartitionOrder(logOf([out(1), out(0, true)]))
  })
})
