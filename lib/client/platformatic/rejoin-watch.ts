import { subscribe, unsubscribe } from 'node:diagnostics_channel'

// @platformatic/kafka traces its group operations on the tracing channel `plt:kafka:consumer:group` (its
// `consumerGroupChannel`); this is the channel of their starts, whose message names the client and the operation.
const GROUP_STARTS = 'tracing:plt:kafka:consumer:group:start'

/** The classic-protocol group requests {@link watchRejoins} reports. */
export type ClassicGroupRequest = 'joinGroup' | 'syncGroup'

/**
 * Calls `starting(request)` synchronously when `consumer` is about to send a classic-protocol JoinGroup or
 * SyncGroup, before the request goes out (the 'start' of its traced operation; KIP-848 members send neither,
 * and the client's `groupProtocol` option is not public). Returns the undo.
 *
 * Why it matters: with the classic protocol the client takes the new generation from the JoinGroup response,
 * then sends the SyncGroup, and changes `consumer.assignments` only once the SyncGroup answers, when the
 * moved partitions already belong to other members: a commit sent in between, or a commit of a revoked
 * partition's finished work sent after, carries the new generation, is accepted, and lands on a partition
 * another member owns (seen in group.spec as "A committed partition 2 at 79 while B was its last assignee").
 *
 * ```text
 * heartbeat: REBALANCE_IN_PROGRESS ─▶ joinGroup ─▶ (new generation) syncGroup ─▶ consumer.assignments = [...]
 *                    └────────── commits here are refused ──────────┘  (moved partitions: others')
 * ```
 *
 * @example
 * const unwatch = watchRejoins(consumer, () => (rejoining = true))
 */
export function watchRejoins(consumer: object, starting: (request: ClassicGroupRequest) => void): () => void {
  const start = (message: unknown): void => {
    const context = message as { client?: unknown; operation?: unknown } | null
    if (context?.client !== consumer) return
    if (context.operation === 'joinGroup' || context.operation === 'syncGroup') starting(context.operation)
  }
  subscribe(GROUP_STARTS, start)
  return () => void unsubscribe(GROUP_STARTS, start)
}
