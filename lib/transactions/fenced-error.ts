import { KafkaRxError } from '../../operators/kafka-rx-error'

/**
 * The error `publishTransactional` ends with when a partition's producer stays fenced: another producer
 * with the same transactionalId keeps initializing while this member still believes it owns the partition.
 */

/**
 * A partition's transactional producer was fenced on every attempt while the source still owned the
 * partition: another process runs the same transactionalId (two services sharing a `transactionalIdPrefix`,
 * or this member a zombie whose group moved on). Nothing of the fenced transactions was committed.
 *
 * Not retriable: the other producer keeps the transactionalId, so a run again is fenced again (or fences the
 * other one in turn); two owners of one id must be fixed in configuration (`transactionalIdPrefix`).
 *
 * @example
 * pipeline.subscribe({ error: (e) => { if (e instanceof TransactionFencedError) log.error(e.transactionalId) } })
 */
export class TransactionFencedError extends KafkaRxError {
  override readonly name = 'TransactionFencedError'
  constructor(readonly transactionalId: string, readonly attempts: number, cause: unknown) {
    super(
      `publishTransactional: the producer of transactionalId '${transactionalId}' was fenced ${attempts} times in a row ` +
      'while this member still owns its partition: another producer uses that transactionalId (a second service ' +
      'with the same transactionalIdPrefix, or this member stalled past its session timeout). Nothing of the fenced ' +
      'transactions was committed', { stage: 'publishTransactional', retriable: false, cause },
    )
  }
}

const FENCING = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'])

/**
 * True when `error` (or one of its causes: kafkajs wraps retried errors) says this producer was fenced.
 *
 * ```text
 * KafkaJSProtocolError { type: 'INVALID_PRODUCER_EPOCH' }  ->  true
 * KafkaJSNumberOfRetriesExceeded { cause: that }           ->  true
 * ```
 *
 * @example
 * if (isFencing(error)) dropProducer()
 */
export function isFencing(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const type = (e as { type?: unknown }).type
    if (typeof type === 'string' && FENCING.has(type)) return true
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError
  }
  return false
}
