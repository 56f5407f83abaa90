/**
 * The errors `publish` (and `publishTransactional`, which shares its outputs) ends the stream with for one
 * record it may neither send nor let pass: nothing at or after the record is emitted, so nothing of it is
 * committed. Both name the record as `record`.
 */
import { KafkaRxError } from '../../operators/kafka-rx-error'
import type { DecodeError } from '../record/decoders'
import { describeError } from './dead-letter'
import type { RecordOrigin } from '../record/record'

/** Where the record the stream stopped at came from. */
export interface RecordAt {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

function at(origin: RecordOrigin): RecordAt {
  return { topic: origin.topic, partition: origin.partition, offset: origin.offset }
}

/**
 * A record had to be dead-lettered (a `failed` result with action 'dead-letter', or a decode failure) but the
 * stage has no `deadLetterTopic`. `cause` is the record's failure.
 *
 * Not retriable: a run again meets the same record without a dead-letter topic; set `deadLetterTopic`, or
 * fail such records with action 'fail' on purpose.
 *
 * @example
 * ```ts
 * pipeline.subscribe({ error: (e) => { if (e instanceof NoDeadLetterTopicError) console.error('set deadLetterTopic; stopped at', e.record) } })
 * ```
 */
export class NoDeadLetterTopicError extends KafkaRxError {
  override readonly name = 'NoDeadLetterTopicError'
  readonly record: RecordAt

  constructor(origin: RecordOrigin, cause: unknown) {
    super(`publish: record ${origin.topic}/${origin.partition}@${origin.offset} is to be dead-lettered but no deadLetterTopic is set`, {
      stage: 'publish', retriable: false, cause,
    })
    this.record = at(origin)
  }
}

/**
 * A record whose key or value could not be decoded reached a stage with `decodeFailures: 'fail'`. `part` says
 * which; `cause` is what the decoder threw.
 *
 * Not retriable: the bytes stay as they are in the topic, so a run again fails on them again; dead-letter
 * them (`decodeFailures: 'dead-letter'`, the default) or fix the decoder.
 *
 * @example
 * ```ts
 * pipeline.subscribe({ error: (e) => { if (e instanceof DecodeFailureError) console.error(e.part, 'of', e.record, e.cause) } })
 * ```
 */
export class DecodeFailureError extends KafkaRxError {
  override readonly name = 'DecodeFailureError'
  readonly record: RecordAt
  readonly part: DecodeError['part']

  constructor(origin: RecordOrigin, error: DecodeError) {
    super(
      `publish: the ${error.part} of record ${origin.topic}/${origin.partition}@${origin.offset} could not be decoded ` +
        `(${describeError(error.cause)}) and decodeFailures is 'fail'`,
      { stage: 'publish', retriable: false, cause: error.cause },
    )
    this.record = at(origin)
    this.part = error.part
  }
}
