/**
 * The offset map a commit carries in its `metadata` string: which offsets above the committed one already
 * finished, so that the next owner of the partition (after a restart or a rebalance) can skip them. Pure.
 *
 * Format (ASCII, so one char is one byte): `krx1:<base>:<runs>:<check>`, numbers in base 36. `<base>` is the
 * committed offset the map is relative to; `<runs>` alternates "not finished" and "finished" lengths
 * (`g0.f0.g1.f1...`, the first gap may be 0); `<check>` is an FNV-1a hash of everything before it, 7 chars.
 * A map from another format or tool, one whose base is not the committed offset, a truncated or corrupted
 * one (the hash fails), or one with a malformed run decodes to nothing: nothing is skipped, never an error.
 *
 * ```text
 * base 100, finished [102,104) [110,111)   ->  'krx1:2s:2.2.6.1:<check>'
 * decode(that, committed '100')            ->  [102, 104, 110, 111]
 * decode(that, committed '101')            ->  []   (not this commit's map)
 * ```
 */

/** The broker's default `offset.metadata.max.bytes`: a longer metadata string is refused with the commit. */
export const DEFAULT_OFFSET_MAP_BYTES = 4096

const PREFIX = 'krx1:'
const CHECK_CHARS = 7 // FNV-1a 32 bits in base 36 is at most 7 chars ('1z141z3')
// Smallest useful map: prefix, a one-char base, ':', one run pair '0.1', ':', the check.
const MIN_BYTES = PREFIX.length + 1 + 1 + 3 + 1 + CHECK_CHARS

/** The result of {@link encodeOffsetMap}: the metadata string and how much of the finished set it holds. */
export interface EncodedOffsetMap {
  /** The metadata to commit: '' when nothing above `base` finished or not even one run fits. */
  readonly metadata: string
  /** Finished offsets the map names (its prefix may leave later runs out when over budget). */
  readonly offsets: number
  /** Finished offsets above `base` it was given. */
  readonly finished: number
}

/**
 * Encodes the finished offsets above `base` (flat sorted half-open ranges `[a0, b0, a1, b1, ...]`, each
 * `a >= base`, disjoint, increasing) within `maxBytes`: when they do not all fit, the longest prefix of the
 * ranges that does (never an error, never over budget).
 *
 * @example
 * encodeOffsetMap(100, [102, 104, 110, 111], 4096).metadata // 'krx1:2s:2.2.6.1:...'
 */
export function encodeOffsetMap(base: number, ranges: readonly number[], maxBytes: number = DEFAULT_OFFSET_MAP_BYTES): EncodedOffsetMap {
  let finished = 0
  for (let i = 0; i + 1 < ranges.length; i += 2) finished += ranges[i + 1]! - ranges[i]!
  const head = `${PREFIX}${base.toString(36)}:`
  const room = maxBytes - head.length - 1 - CHECK_CHARS // what the runs may take
  let runs = ''
  let offsets = 0
  let at = base
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    const a = ranges[i]!
    const b = ranges[i + 1]!
    if (!(a >= at && b > a)) break // not sorted and disjoint above base: stop rather than encode a lie
    const pair = `${runs === '' ? '' : '.'}${(a - at).toString(36)}.${(b - a).toString(36)}`
    if (runs.length + pair.length > room) break
    runs += pair
    offsets += b - a
    at = b
  }
  if (runs === '') return { metadata: '', offsets: 0, finished }
  const body = `${head}${runs}:`
  return { metadata: body + checkOf(body), offsets, finished }
}

/**
 * The finished ranges a commit's `metadata` names above its `committed` offset, as flat half-open ranges;
 * `[]` for anything that is not an intact map of this format made for this very offset.
 *
 * @example
 * decodeOffsetMap(encodeOffsetMap(100, [102, 104], 4096).metadata, '100') // [102, 104]
 * decodeOffsetMap('{"other":"tool"}', '100')                              // []
 */
export function decodeOffsetMap(metadata: string | null | undefined, committed: string): number[] {
  if (typeof metadata !== 'string' || metadata.length < MIN_BYTES || !metadata.startsWith(PREFIX)) return []
  const cut = metadata.length - CHECK_CHARS
  if (metadata.charCodeAt(cut - 1) !== 58 /* ':' */) return []
  const body = metadata.slice(0, cut)
  if (checkOf(body) !== metadata.slice(cut)) return []
  const parts = body.slice(PREFIX.length, -1).split(':')
  if (parts.length !== 2) return []
  const base = numberOf(parts[0]!)
  if (base < 0 || String(base) !== committed) return []
  const runs = parts[1]!.split('.')
  if (runs.length % 2 !== 0) return []
  const out: number[] = []
  let at = base
  for (let i = 0; i < runs.length; i += 2) {
    const gap = numberOf(runs[i]!)
    const length = numberOf(runs[i + 1]!)
    if (gap < 0 || length < 1 || (gap === 0 && i > 0)) return []
    const a = at + gap
    const b = a + length
    if (!Number.isSafeInteger(b)) return []
    out.push(a, b)
    at = b
  }
  return out
}

// A non-negative integer in lowercase base 36 without leading zeros, or -1.
function numberOf(text: string): number {
  if (!/^(0|[1-9a-z][0-9a-z]*)$/.test(text) || text.length > 11) return -1
  const n = parseInt(text, 36)
  return Number.isSafeInteger(n) ? n : -1
}

// FNV-1a over the chars (ASCII), 32 bits, base 36, padded to CHECK_CHARS.
function checkOf(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h.toString(36).padStart(CHECK_CHARS, '0')
}
