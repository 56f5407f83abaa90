import type { RecordOrigin } from './record-origin'
import type { Processed } from './processed'

/**
 * The {@link RecordOrigin} an item carries: `item.item` for a {@link Processed} envelope, else the item itself.
 *
 * Stages after a per-record operator see `Processed` envelopes, stages before it see records; this lets
 * `orderedMerge` and the commit operator accept either. It runs once per item on the hot path, so it is a
 * single property test and allocates nothing. A record type must therefore not have a property named `item`.
 *
 * @example
 * originOf(record)                              // record
 * originOf({ item: record, results: ['ok'] })   // record
 */
export function originOf(item: Processed<RecordOrigin, unknown> | RecordOrigin): RecordOrigin {
  // `'item' in` narrows a RecordOrigin to RecordOrigin & { item: unknown }, hence the cast.
  return 'item' in item ? (item as Processed<RecordOrigin, unknown>).item : item
}
