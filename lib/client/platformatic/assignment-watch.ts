import type { PlatformaticAssignment } from './platformatic-types'

/** Partitions that changed hands between two assignments of a member. */
export interface AssignmentChange {
  readonly revoked: { topic: string; partitions: number[] }[]
  readonly assigned: { topic: string; partitions: number[] }[]
}

/**
 * What moved from `before` to `after`, limited to `topics`: partitions only in `before` are revoked,
 * partitions only in `after` are assigned, the rest stay (null, as the client has before its first
 * assignment, is no partition).
 *
 * @example
 * diffAssignments([{ topic: 't', partitions: [0, 1] }], [{ topic: 't', partitions: [1, 2] }], new Set(['t']))
 * // { revoked: [{ topic: 't', partitions: [0] }], assigned: [{ topic: 't', partitions: [2] }] }
 */
export function diffAssignments(
  before: readonly PlatformaticAssignment[] | null,
  after: readonly PlatformaticAssignment[] | null,
  topics: ReadonlySet<string>,
): AssignmentChange {
  return { revoked: minus(before, after, topics), assigned: minus(after, before, topics) }
}

function minus(a: readonly PlatformaticAssignment[] | null, b: readonly PlatformaticAssignment[] | null, topics: ReadonlySet<string>): { topic: string; partitions: number[] }[] {
  const out: { topic: string; partitions: number[] }[] = []
  const seen = new Set<string>()
  for (const { topic, partitions } of a ?? []) {
    if (!topics.has(topic)) continue
    const other = new Set((b ?? []).filter((x) => x.topic === topic).flatMap((x) => x.partitions))
    const only = [...new Set(partitions)].filter((p) => !other.has(p) && !seen.has(`${topic}\u0000${p}`))
    for (const p of only) seen.add(`${topic}\u0000${p}`)
    if (only.length > 0) out.push({ topic, partitions: only })
  }
  return out
}

/**
 * Calls `changed(before, after)` synchronously every time the client replaces `target.assignments`.
 *
 * `@platformatic/kafka` emits no event that says which partitions an incremental (KIP-848) rebalance moved:
 * it sets `consumer.assignments`, then resumes fetching and acknowledges the revoke with its next heartbeat.
 * Watching the property (an accessor in place of the data property) tells the source before either, so the
 * finished work of a revoked partition is committed while the member still owns it. Returns the undo, which
 * puts the data property back with the current value.
 *
 * @example
 * const unwatch = watchAssignments(consumer, (before, after) => console.log(diffAssignments(before, after, topics)))
 */
export function watchAssignments(
  target: { assignments: PlatformaticAssignment[] | null },
  changed: (before: PlatformaticAssignment[] | null, after: PlatformaticAssignment[] | null) => void,
): () => void {
  let current = target.assignments
  Object.defineProperty(target, 'assignments', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (next: PlatformaticAssignment[] | null) => {
      const before = current
      current = next
      changed(before, next)
    },
  })
  return () => {
    Object.defineProperty(target, 'assignments', { configurable: true, enumerable: true, writable: true, value: current })
  }
}
