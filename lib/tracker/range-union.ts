/**
 * The union of two sets of offsets given as flat half-open ranges `[a0, b0, a1, b1, ...]` (sorted,
 * disjoint): what a commit's offset map names when it joins this epoch's finished records with those the
 * map it inherited named. Pure.
 */

/**
 * Merges two flat sorted range lists into one, sorted, disjoint, with touching or overlapping ranges joined.
 * Only ranges at or above `from` are kept (clipped to it).
 *
 * ```text
 * unionRanges([2, 4, 9, 10], [3, 6, 12, 13], 0)   ->  [2, 6, 9, 10, 12, 13]
 * unionRanges([2, 4], [4, 5], 3)                  ->  [3, 5]
 * ```
 *
 * @example
 * unionRanges(tracker.finishedAbove('t', 0, epoch, 100), inherited, 100)
 */
export function unionRanges(a: readonly number[], b: readonly number[], from: number): number[] {
  if (b.length === 0 && (a.length === 0 || a[0]! >= from)) return a as number[] // the common case: nothing inherited
  const out: number[] = []
  let i = 0
  let j = 0
  while (i + 1 < a.length || j + 1 < b.length) {
    // The range that starts first goes next.
    const fromA = j + 1 >= b.length || (i + 1 < a.length && a[i]! <= b[j]!)
    let start = fromA ? a[i]! : b[j]!
    const end = fromA ? a[i + 1]! : b[j + 1]!
    if (fromA) i += 2
    else j += 2
    if (end <= from) continue
    if (start < from) start = from
    if (out.length > 0 && out[out.length - 1]! >= start) out[out.length - 1] = Math.max(out[out.length - 1]!, end)
    else out.push(start, end)
  }
  return out
}
