import { subscribe, unsubscribe } from 'node:diagnostics_channel'

// @platformatic/kafka traces its group operations on the tracing channel `plt:kafka:consumer:group` (its
// `consumerGroupChannel`); these are the channels of their starts and of their final callbacks, whose message
// names the client and the operation.
const GROUP_STARTS = 'tracing:plt:kafka:consumer:group:start'
const GROUP_ENDS = 'tracing:plt:kafka:consumer:group:asyncEnd'

/** The classic-protocol group requests {@link watchRejoins} reports. */
export type ClassicGroupRequest = 'joinGroup' | 'syncGroup'

/** What {@link watchRejoins} calls. */
export interface RejoinListener {
  /** The client is about to send a JoinGroup or a SyncGroup. */
  starting(request: ClassicGroupRequest): void
  /** A join (JoinGroup, SyncGroup and their retries) ended, joined or failed. */
  joined(): void
}

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
 * The end of a join matters at close: a JoinGroup retry that the client schedules after its `close()`
 * began runs on the closed connection pool and throws from a timer ("Connection pool is closed", uncaught;
 * seen once in about ten classic group-churn runs), so the adapter waits for the join in flight first.
 *
 * @example
 * const unwatch = watchRejoins(consumer, { starting: () => (rejoining = true), joined: () => undefined })
 */
export function watchRejoins(consumer: object, listener: RejoinListener): () => void {
  const ours = (message: unknown): string | undefined => {
    const context = message as { client?: unknown; operation?: unknown } | null
    return context?.client === consumer && typeof context.operation === 'string' ? context.operation : undefined
  }
  const start = (message: unknown): void => {
    const operation = ours(message)
    if (operation === 'joinGroup' || operation === 'syncGroup') listener.starting(operation)
  }
  const end = (message: unknown): void => {
    if (ours(message) === 'joinGroup') listener.joined()
  }
  subscribe(GROUP_STARTS, start)
  subscribe(GROUP_ENDS, end)
  return () => {
    unsubscribe(GROUP_STARTS, start)
    unsubscribe(GROUP_ENDS, end)
  }
}
