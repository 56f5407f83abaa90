/** A key with work in a per-key stage, and how many of its records are queued or running there. */
export interface HotKey {
  readonly key: unknown
  /** Records of the key queued or running (the running one included). */
  readonly count: number
}

/**
 * Keeps `top` the `limit` hottest keys seen so far, hottest first: inserts `{ key, count }` in its place when
 * it makes the cut. O(limit) per call, for a small `limit` (a snapshot's few keys), and only at snapshot time.
 *
 * ```text
 * top [a:9, b:4], limit 2:  offer(c:5) -> [a:9, c:5]   offer(d:1) -> unchanged
 * ```
 *
 * @example
 * const top: HotKey[] = []
 * for (const [key, count] of counts) offerHotKey(top, key, count, 5)
 */
export function offerHotKey(top: HotKey[], key: unknown, count: number, limit: number): void {
  if (limit <= 0 || (top.length >= limit && count <= top[top.length - 1]!.count)) return
  let i = top.length
  while (i > 0 && top[i - 1]!.count < count) i--
  top.splice(i, 0, { key, count })
  if (top.length > limit) top.pop()
}
