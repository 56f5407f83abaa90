import { KafkaRxError } from '../../operators/kafka-rx-error'

/**
 * `commitOffsets` (or `source.commit`) was used on a source that is also given to `publishTransactional`:
 * the transactions commit that source's offsets, after fencing the partition's older producers. A plain
 * commit of the consumer is not fenced and could rewind a commit of the old owner (outputs then written
 * twice), so it is refused: the commit stream errors with this, and nothing is committed by it.
 *
 * Not retriable: it is the pipeline's wiring; drop `commitOffsets` from a pipeline that ends in
 * `publishTransactional`.
 *
 * @example
 * ```ts
 * pipeline.subscribe({ error: (e) => { if (e instanceof CommitsDelegatedError) console.error(e.message) } })
 * ```
 */
export class CommitsDelegatedError extends KafkaRxError {
  override readonly name = 'CommitsDelegatedError'

  constructor() {
    super(
      'commitOffsets: this source is given to publishTransactional, whose transactions commit its offsets; ' +
        'a plain commit would not be fenced (drop commitOffsets from the pipeline)',
      { stage: 'commitOffsets', retriable: false },
    )
  }
}
