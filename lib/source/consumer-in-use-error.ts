import { KafkaRxError } from '../../operators/kafka-rx-error'

/**
 * A `fromKafka` source was subscribed while its consumer object already served another subscription (of this
 * source or of another one made on the same consumer): one kafkajs consumer runs one `eachBatch`, so two
 * subscriptions would steal each other's records and commits. The second subscription errors with this; the
 * first one runs on.
 *
 * Not retriable: it is the pipeline's wiring; `share()` the stream, or give each subscription its own
 * consumer (`fromKafka(() => kafka.consumer({ groupId }), options)`).
 *
 * @example
 * ```ts
 * source.subscribe({ error: (e) => { if (e instanceof ConsumerInUseError) console.error('subscribed twice:', e.message) } })
 * ```
 */
export class ConsumerInUseError extends KafkaRxError {
  override readonly name = 'ConsumerInUseError'

  constructor() {
    super('fromKafka: this consumer already has a subscriber; share() the stream, or give each subscription its own consumer', {
      stage: 'fromKafka',
      retriable: false,
    })
  }
}
