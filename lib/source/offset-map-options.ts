/**
 * `fromKafka`'s `offsetMap` option: what it means and its call-time check. Apart from `options.ts` so that
 * the offset map's knobs sit with it.
 */
import type { OffsetFetchAdminLike } from '../client/admin'
import { DEFAULT_OFFSET_MAP_BYTES } from '../tracker/offset-map'

/**
 * Less redo after a restart or a rebalance: each commit names in its metadata the offsets above it that
 * already finished, and on assignment they are read back (with `admin.fetchOffsets`) and handed on as
 * skipped (`isStale(record)` is true for them) instead of running again.
 */
export interface OffsetMapOptions {
  /** A connected kafkajs `Admin` (or anything with its `fetchOffsets`): reads the committed maps back. */
  admin: OffsetFetchAdminLike
  /** The consumer's `groupId`: whose committed offsets to read. */
  groupId: string
  /**
   * Most bytes of metadata per committed partition: the broker's `offset.metadata.max.bytes` (default
   * 4096, which is the default here). A map that does not fit keeps the finished ranges nearest the
   * committed offset; the commit itself always goes out.
   */
  maxBytes?: number
}

/** {@link OffsetMapOptions} checked, with the default budget. */
export interface OffsetMapSettings {
  readonly admin: OffsetFetchAdminLike
  readonly groupId: string
  readonly maxBytes: number
}

/**
 * Checks the `offsetMap` option of `fromKafka`.
 *
 * ```text
 * undefined                        ->  undefined (no maps)
 * { admin, groupId: 'g' }          ->  { admin, groupId: 'g', maxBytes: 4096 }
 * { admin, groupId: '' }           ->  TypeError
 * ```
 *
 * @example
 * const settings = checkOffsetMap({ admin: kafka.admin(), groupId: 'orders' })
 *
 * @throws {TypeError|RangeError} For an invalid option, naming what it received.
 */
export function checkOffsetMap(option: OffsetMapOptions | undefined): OffsetMapSettings | undefined {
  if (option === undefined) return undefined
  if (option === null || typeof option !== 'object') throw new TypeError(`fromKafka: offsetMap must be an object, got ${String(option)}`)
  const { admin, groupId, maxBytes = DEFAULT_OFFSET_MAP_BYTES } = option
  if (admin === null || typeof admin !== 'object' || typeof admin.fetchOffsets !== 'function') {
    throw new TypeError('fromKafka: offsetMap.admin must have a fetchOffsets function (a kafkajs Admin)')
  }
  if (typeof groupId !== 'string' || groupId === '') {
    throw new TypeError(`fromKafka: offsetMap.groupId must be a non-empty string, got ${JSON.stringify(groupId)}`)
  }
  if (!Number.isInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`fromKafka: offsetMap.maxBytes must be an integer >= 0, got ${String(maxBytes)}`)
  }
  return { admin, groupId, maxBytes }
}
