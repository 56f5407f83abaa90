import type { Arbitrary } from 'fast-check'
import type { GroupStep } from '../world'
import { fastCheck } from './fast-check'

/** What {@link groupScripts} may generate. */
export interface GroupScriptOptions {
  /** Members of the group. Default 2. */
  members?: number
  /** Partitions to hand out in rebalances. Default 2. */
  partitions?: number
  /** Most steps. Default 40. */
  maxSteps?: number
  /** Scripted rebalances. Default true. */
  rebalances?: boolean
  /** Members killed (SIGKILL) and restarted. Default true. */
  crashes?: boolean
  /** Commits the broker fails (retriable). Default true. */
  commitFailures?: boolean
  /** Commits that stay in flight across the next step. Default true. */
  slowCommits?: boolean
}

/**
 * Scripts for a consumer group: fetches and passing time, mixed with rebalances, member crashes and
 * restarts, failing commits and commits left in flight across a step. Shrinks towards shorter scripts of plainer steps.
 *
 * ```text
 * [{ kind: 'fetch', member: 0, max: 3 }, { kind: 'tick', frames: 2 }, { kind: 'crash', member: 1 }, { kind: 'rebalance', owners: [1, 0] }]
 * ```
 *
 * @example
 * fc.assert(fc.property(groupScripts({ members: 3 }), (steps) => steps.length <= 40))
 */
export function groupScripts(options: GroupScriptOptions = {}): Arbitrary<GroupStep[]> {
  const fc = fastCheck()
  const { members = 2, partitions = 2, maxSteps = 40, rebalances = true, crashes = true, commitFailures = true, slowCommits = true } = options
  const member = fc.nat(Math.max(0, members - 1))
  const steps: { arbitrary: Arbitrary<GroupStep>; weight: number }[] = [
    { arbitrary: fc.record({ kind: fc.constant('fetch' as const), member, max: fc.integer({ min: 1, max: 6 }) }), weight: 8 },
    { arbitrary: fc.record({ kind: fc.constant('tick' as const), frames: fc.integer({ min: 1, max: 6 }) }), weight: 5 },
  ]
  if (rebalances) {
    const owners = fc.array(fc.nat(Math.max(0, members - 1)), { minLength: partitions, maxLength: partitions })
    steps.push({ arbitrary: fc.record({ kind: fc.constant('rebalance' as const), owners }), weight: 1 })
  }
  if (crashes) {
    steps.push({ arbitrary: fc.record({ kind: fc.constant('crash' as const), member }), weight: 1 })
    steps.push({ arbitrary: fc.record({ kind: fc.constant('restart' as const), member }), weight: 1 })
  }
  if (commitFailures) {
    steps.push({ arbitrary: fc.record({ kind: fc.constant('fail-commits' as const), count: fc.integer({ min: 1, max: 3 }) }), weight: 1 })
  }
  if (slowCommits) {
    steps.push({ arbitrary: fc.record({ kind: fc.constant('slow-commits' as const), count: fc.integer({ min: 1, max: 3 }) }), weight: 1 })
  }
  return fc.array(fc.oneof(...steps), { maxLength: maxSteps })
}
