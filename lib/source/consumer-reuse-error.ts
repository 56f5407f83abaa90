import { KafkaRxError, textOf } from '../../operators/kafka-rx-error'

/**
 * Starting a consumer again after an earlier subscription disconnected it failed. kafkajs 2.2.4 consumers
 * cannot connect again once disconnected ("write after end"), so `retry()` / `repeat()` over a source made on
 * one consumer object fail here; the fix is a factory, `fromKafka(() => kafka.consumer({ groupId }), ...)`.
 * Not retriable: every further subscription fails the same way until the source is given a factory.
 */
export class ConsumerReuseError extends KafkaRxError {
  constructor(override readonly cause: unknown) {
    super(
      'fromKafka: the consumer failed to start again after an earlier subscription disconnected it ' +
        '(a kafkajs consumer cannot reconnect once disconnected); to subscribe more than once (retry, repeat), ' +
        `pass a factory: fromKafka(() => kafka.consumer({ groupId }), options). Cause: ${textOf(cause)}`,
      { stage: 'fromKafka', retriable: false, cause },
    )
    this.name = 'ConsumerReuseError'
  }
}
