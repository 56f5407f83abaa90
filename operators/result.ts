/**
 * What the work on one record decided: forward one message, forward many, drop it, or report that it failed.
 * Plain data (a `kind` tag), so marble tests and property tests build results by hand, and `publish` can
 * tell at a glance what a record still owes before it may be committed.
 *
 * (The coroutine seed's `Forward` / `ForwardMany` / `Drop` / `Error`.)
 */
export type Result<O> = Forward<O> | ForwardMany<O> | Drop | Failed

/**
 * One message to produce. `topic` overrides the publish operator's default topic; `partition` pins a
 * partition (otherwise the producer's partitioner picks one from `key`, so one key keeps one partition and
 * therefore its order).
 */
export interface OutputMessage<V = Buffer | string | null> {
  readonly topic?: string
  readonly key: Buffer | string | null
  readonly value: V
  readonly headers?: Readonly<Record<string, Buffer | string | undefined | (Buffer | string)[]>>
  readonly partition?: number
}

/** Produce one message; the record is finished once the broker acknowledged it. */
export interface Forward<O> {
  readonly kind: 'forward'
  readonly message: O
}

/** Produce several messages in this order; the record is finished after the last acknowledgement. */
export interface ForwardMany<O> {
  readonly kind: 'forward-many'
  readonly messages: readonly O[]
}

/** Nothing to produce; the record is finished at once (it still counts for the commit). */
export interface Drop {
  readonly kind: 'drop'
  readonly reason: string
}

/**
 * The work gave up on the record. `action` says what the pipeline does with it: route the original record to
 * the dead-letter topic (then it counts as finished), or stop the stream once everything before it is done.
 */
export interface Failed {
  readonly kind: 'failed'
  readonly error: unknown
  /** How many times the work was tried (1 when it was not retried). */
  readonly attempts: number
  readonly action: 'dead-letter' | 'fail'
  /**
   * Set by the stage that carried the action out (`publish` sets its dead-letter topic once the letter is
   * acknowledged; see `routed`). `commitOffsets` never commits past a failure without it.
   */
  readonly routedTo?: string
}

/**
 * Forward one message.
 *
 * @example
 * groupByKeyConcat(recordKey, r => of(forward({ key: r.key, value: enrich(r.value) })))
 */
export function forward<O>(message: O): Forward<O> {
  return { kind: 'forward', message }
}

/**
 * Forward several messages, in this order (an empty list finishes the record at once, like a drop).
 *
 * @example
 * forwardMany(order.lines.map(line => ({ key: order.id, value: JSON.stringify(line) })))
 */
export function forwardMany<O>(messages: readonly O[]): ForwardMany<O> {
  return { kind: 'forward-many', messages }
}

/**
 * Produce nothing for this record; `reason` is for logs and stats.
 *
 * @example
 * r.value === null ? drop('tombstone') : forward(...)
 */
export function drop(reason: string): Drop {
  return { kind: 'drop', reason }
}

/**
 * A failure, usually made by `withRetry` once attempts ran out.
 *
 * @example
 * failed(new Error('schema mismatch'), 1, 'dead-letter')
 */
export function failed(error: unknown, attempts: number, action: Failed['action'] = 'dead-letter'): Failed {
  return { kind: 'failed', error, attempts, action }
}

/**
 * The messages a result asks to produce, in order (none for a drop or a failure).
 *
 * @example
 * messagesOf(forwardMany([a, b])) // [a, b]
 */
export function messagesOf<O>(result: Result<O>): readonly O[] {
  switch (result.kind) {
    case 'forward': return [result.message]
    case 'forward-many': return result.messages
    default: return []
  }
}
