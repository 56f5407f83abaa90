/**
 * `kafka-rx/testing`: what a user needs to test a kafka-rx pipeline: records built by hand, virtual time, and
 * a real local broker for integration tests.
 */
export { recordBuilder, records } from './records'
export type { RecordSpec, TestRecord } from './records'
export { createTestScheduler } from './test-scheduler'
export { runMarbles } from './run-marbles'
export { seededRandom } from './seeded-random'
export type { Random } from './seeded-random'
export type { MarbleEvent } from './run-marbles'
export { startKafka, ensureKafka, fetchKafka, kafkaCacheDir, DEFAULT_KAFKA_VERSION } from './kafka-broker'
export type { StartKafkaOptions, LocalKafka } from './kafka-broker'
