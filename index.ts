/**
 * kafka-rx: consume Kafka with many records in flight, without giving up order or safety.
 *
 * The data path, and the one feedback path (finished records releasing the in-flight budget):
 *
 * ```text
 *  kafkajs consumer ──eachBatch──▶ fromKafka(consumer, { topics, maxInFlight })      lib/kafka-source.ts
 *        ▲                         │  tracker.deliver(record): seq/epoch stamped, in flight counted
 *        │ pause/resume            ▼
 *        │                  Observable<KafkaRecord>
 *        │                         ▼  groupByKeyConcat(keyOf, project, { concurrency })   one key at a time,
 *        │                         │      emits Processed<record, results> as each completes   keys concurrent
 *        │                         ▼  orderedMerge()             back in delivery (seq) order per partition lane
 *        │                         ▼  commitOffsets(source, { interval, batchSize })
 *        └──── tracker.finish ─────┤      tracker: longest finished prefix per partition → commit(offsets)
 *                                  ▼
 *                          Observable<Commit>   what was committed, and when
 * ```
 *
 * Beside the main path: `withRetry` wraps the work of one record (its key waits while it retries) and `publish`
 * (between orderedMerge and commitOffsets) produces results and dead letters, passing a record on only once its
 * outputs are acknowledged; `batchByKey` can replace or follow groupByKeyConcat for batch APIs. Side streams
 * read the source without feeding it: `interjections(source.assignments, task)` (periodic per-partition work)
 * and `pipelineStats(source, { metrics })` / `stuckRecords` (snapshots of the tracker, the gate and the
 * operators' `PipelineMetrics`). Shutdown: an aborted `signal` stops delivery, lets the delivered records
 * finish (up to `drainTimeout`), then the stream completes and the final commit goes out before disconnect.
 *
 * `operators/` are pure RxJS operators (no Kafka), testable in virtual time. `lib/` is the Kafka side: the
 * offset tracker (the one place that knows delivered / finished / committable), the source and the sinks.
 */

// Plain data shared by every stage.
export type { RecordOrigin, KafkaRecord, CommitOffset, TrackedCommitOffset } from './lib/record'
export type { Processed } from './operators/processed'

// Pure operators (no Kafka): work on any stream, testable in virtual time.
export { groupByKeyConcat } from './operators/group-by-key-concat'
export type { GroupByKeyConcatOptions } from './operators/group-by-key-concat'
export { orderedMerge } from './operators/ordered-merge'
export type { OrderedMergeOptions } from './operators/ordered-merge'
export { commitOffsets } from './operators/commit-offsets'
export type { Commit, CommitOffsetsOptions, CommitTarget } from './operators/commit-offsets'
export { trackDelivery } from './operators/track-delivery'
export { originOf } from './operators/origin-of'
export { forward, forwardMany, drop, failed, messagesOf } from './operators/result'
export type { Result, Forward, ForwardMany, Drop, Failed, OutputMessage } from './operators/result'
export { withRetry } from './operators/with-retry'
export { batchByKey, BatchError } from './operators/batch-by-key'
export type { BatchByKeyOptions, BatchByKeyItemsOptions } from './operators/batch-by-key'
export { interjections } from './operators/interjections'
export type { InterjectionsOptions, PartitionEvent, AssignedPartition } from './operators/interjections'
export type { WithRetryOptions } from './operators/with-retry'

// The Kafka side.
export { OffsetTracker } from './lib/offset-tracker'
export type { OffsetTrackerOptions, PartitionProgress } from './lib/offset-tracker'
export { fromKafka } from './lib/kafka-source'
export { ConsumerReuseError } from './lib/consumer-reuse-error'
export { DrainTimeoutError } from './lib/drain'
export type { UnfinishedPartition } from './lib/drain'
export type { FromKafkaOptions, KafkaSource, SourceRecord } from './lib/kafka-source'
export type { KafkaConsumerLike } from './lib/kafka-client'
export { recordKey } from './lib/record-key'
export type { RecordKey } from './lib/record-key'
export { bufferDecoder, stringDecoder, jsonDecoder, isDecodeFailure } from './lib/decoders'
export type { Decoder, DecodeContext, DecodeError, DecodeFailure } from './lib/decoders'
export { publish } from './lib/publish'
export type { PublishOptions } from './lib/publish'
export type { KafkaProducerLike, ProducerMessageLike, TopicMessagesLike } from './lib/producer-client'
export { deadLetterOf, DEAD_LETTER_HEADERS, defaultDeadLetterEncoder, describeError } from './lib/dead-letter'

// Live stats: counters the operators feed, snapshots at an interval, stuck-record detection.
export { PipelineMetrics } from './lib/pipeline-metrics'
export type { KeyGauge } from './lib/pipeline-metrics'
export { pipelineStats } from './lib/pipeline-stats'
export type { PipelineStatsOptions, PipelineStats, PartitionStats, StuckRecord, StatsTarget } from './lib/pipeline-stats'
export { stuckRecords } from './lib/stuck-records'
export type { StuckRecordsOptions } from './lib/stuck-records'
export type { DeadLetterSource, DeadLetterCause, DeadLetterEncoder } from './lib/dead-letter'
