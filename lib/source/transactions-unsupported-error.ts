import { KafkaRxError } from '../../operators/kafka-rx-error'

/**
 * `publishTransactional` was given a source whose consumer comes from a client adapter that cannot take part
 * in kafka-rx's transactions (the consumer's `transactionsUnsupported` says why: today the
 * `@platformatic/kafka` adapter, `kafka-rx/platformatic`). Refused when the transactional stream is subscribed
 * (or the source, when its consumer comes from a factory), before the consumer is touched or any record is
 * read; no producer is made, nothing is committed.
 *
 * Not retriable: it is the pipeline's wiring. Use kafkajs for exactly-once, or `publish` (at-least-once).
 *
 * @example
 * ```ts
 * pipeline.subscribe({ error: (e) => { if (e instanceof TransactionsUnsupportedError) console.error(e.message) } })
 * ```
 */
export class TransactionsUnsupportedError extends KafkaRxError {
  override readonly name = 'TransactionsUnsupportedError'

  /** @param reason The consumer's `transactionsUnsupported`: the client, and what it lacks. */
  constructor(readonly reason: string) {
    super(`publishTransactional: the source's consumer cannot take part in transactions: ${reason}`, {
      stage: 'publishTransactional',
      retriable: false,
    })
  }
}
