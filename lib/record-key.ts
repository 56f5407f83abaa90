/** What {@link recordKey} returns: a `Map`-equal stand-in for a record's key. */
export type RecordKey = string | symbol

// One symbol per (topic, partition): bounded by the partitions ever seen, never by the records.
const nullKeys = new Map<string, Map<number, symbol>>()

function nullKeyOf(topic: string, partition: number): symbol {
  let byPartition = nullKeys.get(topic)
  if (byPartition === undefined) nullKeys.set(topic, (byPartition = new Map()))
  let key = byPartition.get(partition)
  if (key === undefined) byPartition.set(partition, (key = Symbol(`null key of ${topic}[${partition}]`)))
  return key
}

/**
 * The key to give `groupByKeyConcat` for a Kafka record: records with equal keys get equal (`===`) results,
 * so they run one after another, in partition order.
 *
 * - A string key is itself; a `Buffer` (or any `Uint8Array`) key is its bytes read as latin1, one char per
 *   byte, so equal bytes give equal strings and different bytes different strings (Buffers themselves are
 *   compared by identity in a `Map`); numbers, bigints and booleans become `String(key)`; any other decoded
 *   object becomes its `JSON.stringify` (prefer a key decoder that returns a string).
 * - A null (or undefined) key gets one symbol per topic-partition: null-key records of a partition run one
 *   at a time, in partition order, and never wait on another partition. Records with no key usually have
 *   no ordering contract across partitions but often have one within a partition (e.g. a single-partition
 *   log of commands), so this is the safe default; map null keys to something finer yourself if they may
 *   run concurrently.
 * - The same key in two topics is one key: their records never overlap (over-serialising is always safe).
 * - The epoch is not part of the key. That is what keeps key order across a rebalance: a record delivered
 *   again after a re-assignment queues behind the earlier, still running record of its key. Do not put the
 *   epoch (or the offset) in a key.
 * - A {@link DecodeFailure} whose key did not decode carries the raw key bytes, so it keys like a Buffer.
 *
 * @example
 * records$.pipe(groupByKeyConcat(recordKey, (r) => handle(r), { concurrency: 256 }))
 */
export function recordKey(record: { readonly topic: string; readonly partition: number; readonly key: unknown }): RecordKey {
  const key = record.key
  if (typeof key === 'string') return key
  if (key === null || key === undefined) return nullKeyOf(record.topic, record.partition)
  if (key instanceof Uint8Array) return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
  switch (typeof key) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(key)
    default:
      return JSON.stringify(key) ?? String(key)
  }
}
