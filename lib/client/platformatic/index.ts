/**
 * `kafka-rx/platformatic`: the adapters that make `@platformatic/kafka`'s `Consumer` and `Producer` the
 * clients kafka-rx drives. Nothing here loads `@platformatic/kafka` (an optional peer dependency that runs on
 * Node >= 22.22 only): the user makes the clients and passes them in.
 */
export { platformaticConsumer, type PlatformaticConsumerOptions } from './platformatic-consumer'
export { platformaticProducer } from './platformatic-producer'
export { PlatformaticOwnershipLostError } from './ownership-error'
export type {
  PlatformaticAssignment,
  PlatformaticConsumeOptions,
  PlatformaticConsumer,
  PlatformaticMessage,
  PlatformaticMessagesStream,
  PlatformaticMessageToProduce,
  PlatformaticProducer,
} from './platformatic-types'
