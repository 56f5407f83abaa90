// The ambient names that the snippets of README.md and docs/*.md use without defining them (scripts/check-docs.ts
// compiles every block with this file). A script, not a module: these are globals, and a block that declares one
// of these names itself shadows it. Keep it small: a name belongs here only if several pages use it.

/** The running example: orders, keyed by customer, JSON values. */
interface Order {
  id: string
  customer: string
  amount: number
  test?: boolean
}

declare const consumer: import('kafkajs').Consumer
declare const producer: import('kafkajs').Producer
declare const kafka: import('kafkajs').Kafka
/** A source of decoded orders. */
declare const orders: import('kafka-rx').KafkaSource<string | null, Order | null>
/** One record of `orders` (keys with stringDecoder, values with jsonDecoder<Order>()). */
type OrderRecord = import('kafka-rx').KafkaRecord<string | null, Order | null>
declare const log: {
  debug(...args: unknown[]): void
  info(...args: unknown[]): void
  warn(...args: unknown[]): void
}
/** Work on one order: charges the customer. */
declare function charge(order: OrderRecord): Promise<void>
/** Work on one order: its price, computed elsewhere. */
declare function price(order: OrderRecord): Promise<number>
/** Writes many rows in one call (a database's multi-row insert). */
declare function writeRows(rows: readonly OrderRecord[]): Promise<void>
