import { KafkaRxError } from '../../operators/kafka-rx-error'

/**
 * A source made with `fromKafka`'s `offsetMap` option was given to `publishTransactional`. Under
 * exactly-once a partition's transaction commits consecutive records only, up to the offset it commits: the
 * outputs of a record above that offset are not committed yet, so no map could name it safely (a skip after
 * a restart would lose its outputs). The combination is refused when the transactional stream is
 * subscribed, before any record is read; nothing is committed.
 *
 * Not retriable: it is the pipeline's wiring; drop `offsetMap` from a source that feeds
 * `publishTransactional`.
 *
 * @example
 * ```ts
 * pipeline.subscribe({ error: (e) => { if (e instanceof OffsetMapTransactionalError) console.error(e.message) } })
 * ```
 */
export class OffsetMapTransactionalError extends KafkaRxError {
  override readonly name = 'OffsetMapTransactionalError'

  constructor() {
    super(
      'publishTransactional: the source was made with fromKafka\'s offsetMap option; a transaction commits only ' +
        'consecutive records, so no map could name a finished record safely (drop offsetMap from this source)',
      { stage: 'publishTransactional', retriable: false },
    )
  }
}
