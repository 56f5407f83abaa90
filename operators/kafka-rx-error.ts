/**
 * The base of every error kafka-rx raises into a stream (or throws from a call it refuses at run time). It
 * lives on the operators' side so both layers can use it: `operators/` never imports `lib/`.
 */

/** What every {@link KafkaRxError} is made with. */
export interface KafkaRxErrorOptions {
  /** The stage that failed, as its message starts: `fromKafka`, `publish`, `commitOffsets`, `batchByKey`... */
  readonly stage: string
  /** See {@link KafkaRxError.retriable}. */
  readonly retriable: boolean
  /** The error this one wraps, when there is one (set as the standard `cause`). */
  readonly cause?: unknown
}

/**
 * An error of kafka-rx: `stage` names where it happened and `retriable` says whether running the pipeline
 * again (`retry()` over a source made from a consumer factory, or a process restart) may succeed without a
 * change of code or configuration. Nothing of a failed pipeline is committed past its unfinished records, so
 * a retry re-reads them: retriable errors are transient (a broker or a rebalance), fatal ones would fail the
 * same way again (a fenced producer, a record that cannot be decoded, a pipeline wired wrongly).
 *
 * Wrong arguments (options, callback results of the wrong type) stay `TypeError` / `RangeError`, as in any
 * JavaScript API, and are never retriable. Errors of your own code and of the client (kafkajs's have their own
 * `retriable`) pass through unchanged unless a class below wraps them.
 *
 * ```text
 * pipeline ──x DrainTimeoutError   { stage: 'fromKafka', retriable: false }
 * pipeline ──x PublishSendError    { stage: 'publish',   retriable: true }   the broker was down
 * ```
 *
 * @example
 * ```ts
 * pipeline.subscribe({ error: (e) => (e instanceof KafkaRxError && e.retriable ? restartLater() : alert(e)) })
 * ```
 */
export abstract class KafkaRxError extends Error {
  /** The stage that failed; the message starts with it. */
  readonly stage: string
  /** True when running the pipeline again may succeed as is; false when it would fail the same way. */
  readonly retriable: boolean

  constructor(message: string, { stage, retriable, cause }: KafkaRxErrorOptions) {
    super(message, cause === undefined ? undefined : { cause })
    this.stage = stage
    this.retriable = retriable
  }
}

/**
 * `String(value)` that never throws (an object without prototype, a throwing `toString`): building an error's
 * message must not fail with an error of its own.
 *
 * @example
 * textOf(Object.create(null)) // '(not printable)'
 */
export function textOf(value: unknown): string {
  try {
    return String(value)
  } catch {
    return '(not printable)'
  }
}

/**
 * Whether the error `cause` wraps says retrying may help: the `retriable` flag of the deepest error in its
 * chain (`cause`, or kafkajs's `originalError`) that has one, else `fallback`. The deepest, because kafkajs
 * marks `retriable: false` the error it throws once its own retries ran out (`KafkaJSNumberOfRetriesExceeded`)
 * while the error it wraps, a lost connection say, is transient.
 *
 * ```text
 * KafkaJSNumberOfRetriesExceeded (false) <- KafkaJSConnectionError (true)   ->  true
 * KafkaJSNonRetriableError (false) <- KafkaJSProtocolError MESSAGE_TOO_LARGE (false)   ->  false
 * new Error('boom')   ->  fallback
 * ```
 *
 * @example
 * super(message, { stage: 'publish', retriable: retriableCause(cause, true), cause })
 */
export function retriableCause(cause: unknown, fallback: boolean): boolean {
  let found: boolean | undefined
  for (let e = cause, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const flag = (e as { retriable?: unknown }).retriable
    if (typeof flag === 'boolean') found = flag
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError
  }
  return found ?? fallback
}

/**
 * Whether running the pipeline again may get past `error`: a {@link KafkaRxError}'s own `retriable`; for any
 * other error (the client's, passed through: a commit that failed after `commitOffsets`' attempts, a crash of
 * the consumer), the deepest `retriable` flag of its cause chain ({@link retriableCause}), false when there is
 * none (an error kafka-rx cannot judge is not retried blindly).
 *
 * ```text
 * DrainTimeoutError                                         ->  false
 * KafkaJSNumberOfRetriesExceeded <- KafkaJSConnectionError  ->  true
 * new Error('boom')                                         ->  false
 * ```
 *
 * @example
 * ```ts
 * pipeline.pipe(retry({ delay: (error, n) => (isRetriable(error) && n <= 5 ? timer(1_000 * n) : throwError(() => error)) }))
 * ```
 */
export function isRetriable(error: unknown): boolean {
  return error instanceof KafkaRxError ? error.retriable : retriableCause(error, false)
}
