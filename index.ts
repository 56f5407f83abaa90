/**
 * kafka-rx: consume Kafka with many records in flight, without giving up order or safety.
 *
 * The data path, and the one feedback path (finished records releasing the in-flight budget):
 *
 * ```text
 *  kafkajs consumer ──eachBatch──▶ fromKafka(consumer, { topics, maxInFlight })      lib/source/from-kafka.ts
 *        ▲                         │  tracker.deliver(record): seq/epoch stamped, in flight counted
 *        │ batch held in eachBatch ▼
 *        │                  Observable<KafkaRecord>
 *        │                         ▼  groupByKeyConcat(keyOf, project, { concurrency })   one key at a time,
 *        │                         │      emits Processed<record, results> as each completes   keys concurrent
 *        │                         ▼  orderedMerge()             back in delivery (seq) order per partition lane
 *        │                         ▼  commitOffsets(source, { interval, maxUncommitted })
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

// Errors: each a KafkaRxError with the `stage` that failed and whether running again may succeed (`retriable`).
export { KafkaRxError, isRetriable } from './operators/kafka-rx-error'
export type { KafkaRxErrorOptions } from './operators/kafka-rx-error'
export { SequenceError } from './operators/sequence-error'
export { ConsumerInUseError } from './lib/source/consumer-in-use-error'
export { CommitsDelegatedError } from './lib/source/commits-delegated-error'
export { OffsetMapTransactionalError } from './lib/source/offset-map-transactional-error'
export { TransactionsUnsupportedError } from './lib/source/transactions-unsupported-error'
export { SeekRefusedError } from './lib/source/refuse-seeks'
export { NoDeadLetterTopicError, DecodeFailureError } from './lib/publish/record-errors'
export type { RecordAt } from './lib/publish/record-errors'

// Plain data shared by every stage.
export type { RecordOrigin, KafkaRecord, CommitOffset, TrackedCommitOffset } from './lib/record/record'
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
export { routed, UnroutedFailureError } from './operators/unrouted-failure'
export { batchByKey, BatchError } from './operators/batch-by-key'
export type { BatchByKeyOptions, BatchByKeyItemsOptions } from './operators/batch-by-key'
export { interjections } from './operators/interjections'
export type { InterjectionsOptions, PartitionEvent, AssignedPartition } from './operators/interjections'
export type { WithRetryOptions } from './operators/with-retry'

// The Kafka side.
export { OffsetTracker } from './lib/tracker/offset-tracker'
export type { OffsetTrackerOptions, PartitionProgress } from './lib/tracker/offset-tracker'
export { fromKafka } from './lib/source/from-kafka'
export { ConsumerReuseError } from './lib/source/consumer-reuse-error'
export { DrainTimeoutError } from './lib/source/drain'
export type { UnfinishedPartition } from './lib/source/drain'
export type { FromKafkaOptions, KafkaSource, SourceRecord } from './lib/source/from-kafka'
export { pullRecords } from './lib/pull/pull-records'
export type { KafkaPull, PullOptions, PullBatchOptions, PullSource } from './lib/pull/pull-records'
export type { KafkaConsumerLike } from './lib/client/consumer'
export type { OffsetMapOptions } from './lib/source/offset-map-options'
export type { OffsetFetchAdminLike, FetchedOffsetLike } from './lib/client/admin'
export { recordKey } from './lib/record/record-key'
export type { RecordKey } from './lib/record/record-key'
export { bufferDecoder, stringDecoder, jsonDecoder, isDecodeFailure } from './lib/record/decoders'
export type { Decoder, DecodeContext, DecodeError, DecodeFailure } from './lib/record/decoders'
export { publish } from './lib/publish/publish'
export { PublishSendError } from './lib/publish/send-error'
export type { PublishOptions } from './lib/publish/publish'
export type { KafkaProducerLike, ProducerMessageLike, TopicMessagesLike } from './lib/client/producer'
export { deadLetterOf, DEAD_LETTER_HEADERS, defaultDeadLetterEncoder, describeError } from './lib/publish/dead-letter'

// Live stats: counters the operators feed, snapshots at an interval, stuck-record detection.
export { PipelineMetrics } from './operators/pipeline-metrics'
export type { KeyGauge } from './operators/pipeline-metrics'
export type { HotKey } from './operators/hot-keys'
export { pipelineStats } from './lib/stats/pipeline-stats'
export type { PipelineStatsOptions, PipelineStats, PartitionStats, StuckRecord, StatsTarget } from './lib/stats/pipeline-stats'
export { stuckRecords } from './lib/stats/stuck-records'
export type { StuckRecordsOptions } from './lib/stats/stuck-records'
export type { DeadLetterSource, DeadLetterCause, DeadLetterEncoder } from './lib/publish/dead-letter'

// Exactly-once consume-transform-produce: outputs and input offsets in one transaction per input partition.
export { publishTransactional } from './lib/transactions/publish-transactional'
export type { TransactionCommit, TransactionalSource } from './lib/transactions/publish-transactional'
export type { PublishTransactionalOptions } from './lib/transactions/options'
export type { TransactionalProducerLike, TransactionLike, OffsetsAdminLike } from './lib/client/transactions'
export { TransactionFencedError } from './lib/transactions/fenced-error'
