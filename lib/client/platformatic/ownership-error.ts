/** Kafka errors saying the member does not own what it commits any more (classic generations, KIP-848 epochs). */
const OWNERSHIP_LOST = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'STALE_MEMBER_EPOCH', 'FENCED_MEMBER_EPOCH'])

/**
 * A commit `@platformatic/kafka` refused because the group moved on. It carries the Kafka error name as
 * `type`, the way kafkajs's errors do, so the source drops the commit (the next owner reads from the last
 * one) instead of failing the stream. The client's own error is the `cause`.
 */
export class PlatformaticOwnershipLostError extends Error {
  override readonly name = 'PlatformaticOwnershipLostError'
  constructor(
    readonly type: string,
    cause: unknown,
  ) {
    super(`kafka-rx/platformatic: commitOffsets: the group refused the commit (${type}): this member no longer owns the partitions`, { cause })
  }
}

/**
 * The Kafka error name (`apiId`) of an ownership loss found in `error`, its `errors` (platformatic's
 * `MultipleErrors`) or its causes; undefined when there is none.
 *
 * @example
 * ownershipLostType({ errors: [{ apiId: 'STALE_MEMBER_EPOCH' }] }) // 'STALE_MEMBER_EPOCH'
 */
export function ownershipLostType(error: unknown, depth = 0): string | undefined {
  if (error === null || typeof error !== 'object' || depth > 8) return undefined
  const e = error as { apiId?: unknown; errors?: unknown; cause?: unknown }
  if (typeof e.apiId === 'string' && OWNERSHIP_LOST.has(e.apiId)) return e.apiId
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = ownershipLostType(inner, depth + 1)
      if (found !== undefined) return found
    }
  }
  return ownershipLostType(e.cause, depth + 1)
}
