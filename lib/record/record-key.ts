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

// Short byte keys are interned in a small two-way cache: a key seen again costs a hash and a compare over its
// bytes instead of a new string (and the Map lookup downstream then meets a string it has already hashed).
// Bounded: `slots` strings of at most CACHED_KEY_BYTES chars, whatever the keys ever seen (8,192 here: under
// 1 MiB even when every one is 64 chars).
const CACHED_KEY_BYTES = 64

/**
 * Internal (exported for its spec, which runs it with a tiny cache so that keys collide in every run): a
 * function from bytes to their latin1 reading, one char per byte (equal bytes give equal strings, different
 * bytes different ones), interning short keys in a two-way cache of `slots` (a power of two, >= 2) entries.
 *
 * ```text
 * <6b 31> -> 'k1' (made, cached)   <6b 31> -> 'k1' (the cached string)   <6b 32> -> 'k2' (made; 'k1' moves to the pair slot if they share one)
 * ```
 *
 * @example
 * const bytesKey = internedBytesKeys(8192)
 * bytesKey(Buffer.from('k1')) === bytesKey(Buffer.from('k1')) // true, and the second call allocates nothing
 */
export function internedBytesKeys(slots: number): (bytes: Uint8Array) => string {
  if (!Number.isInteger(slots) || slots < 2 || (slots & (slots - 1)) !== 0) throw new RangeError(`internedBytesKeys: slots must be a power of two >= 2, got ${slots}`)
  const interned = new Array<string | undefined>(slots).fill(undefined)
  const mask = slots - 1
  return (bytes) => {
    const length = bytes.length
    if (length > CACHED_KEY_BYTES) return latin1(bytes)
    let hash = length
    for (let i = 0; i < length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193)
    // Two-way: a key may sit in its slot or the slot's pair, so two hot keys that share a slot both stay.
    const slot = (hash ^ (hash >>> 16)) & mask
    const first = interned[slot]
    if (first !== undefined && sameBytes(first, bytes)) return first
    const pair = slot ^ 1
    const second = interned[pair]
    if (second !== undefined && sameBytes(second, bytes)) return second
    const made = latin1(bytes)
    // The newest in the slot; the one it displaces goes to the pair (evicting the pair's older key).
    if (first !== undefined) interned[pair] = first
    return (interned[slot] = made)
  }
}

const bytesKey = internedBytesKeys(8192)

function sameBytes(key: string, bytes: Uint8Array): boolean {
  const length = bytes.length
  if (key.length !== length) return false
  for (let i = 0; i < length; i++) if (key.charCodeAt(i) !== bytes[i]) return false
  return true
}

function latin1(bytes: Uint8Array): string {
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('latin1')
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
  if (key instanceof Uint8Array) return bytesKey(key)
  switch (typeof key) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(key)
    default:
      return JSON.stringify(key) ?? String(key)
  }
}
