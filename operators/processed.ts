/**
 * What one source item became: the item itself and every value its projection emitted, in order.
 *
 * Per-record operators emit exactly one `Processed` per input item, when the item's work is complete. That
 * makes a dropped item (no results) or a fanned-out item (many results) explicit, so `orderedMerge` never
 * waits for an item that will not come and the commit operator can acknowledge every record.
 * (Same role as the `Forward` / `ForwardMany` / `Drop` results of the coroutine pipeline and Alpakka's
 * pass-through envelopes.)
 */
export interface Processed<T, R> {
  readonly item: T
  readonly results: readonly R[]
}
