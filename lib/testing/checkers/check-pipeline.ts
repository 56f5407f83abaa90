import type { RunLog } from '../run-pipeline'
import { checkAtLeastOnce } from './at-least-once'
import { checkCommits } from './commits'
import { checkKeyOrder } from './key-order'
import { checkNothingLost } from './nothing-lost'
import { checkPartitionOrder } from './partition-order'
import { checkProgress } from './progress'
import type { CheckerName } from './violation'

/** Every checker, in the order {@link checkPipeline} runs them. */
export const CHECKERS: Readonly<Record<CheckerName, (log: RunLog) => void>> = {
  commits: checkCommits,
  'at-least-once': checkAtLeastOnce,
  'key-order': checkKeyOrder,
  'partition-order': checkPartitionOrder,
  progress: checkProgress,
  'nothing-lost': checkNothingLost,
}

/**
 * Runs the checkers (default: all of them, in {@link CHECKERS}' order) on a run's log; throws the first
 * `PipelineViolation` found. Leave out a checker your pipeline does not promise (e.g. `'key-order'` for a
 * pipeline that needs no per-key order).
 *
 * @example
 * checkPipeline(log)                                       // all six
 * checkPipeline(log, ['at-least-once', 'progress'])        // only these
 */
export function checkPipeline(log: RunLog, checkers: readonly CheckerName[] = Object.keys(CHECKERS) as CheckerName[]): void {
  for (const name of checkers) CHECKERS[name](log)
}
