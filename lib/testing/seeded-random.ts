/** A deterministic generator of floats in [0, 1). */
export type Random = () => number

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same sequence, so a randomised test or workload
 * can log its seed and be replayed. Not for cryptography.
 *
 * @example
 * const rnd = seededRandom(42)
 * const die = 1 + Math.floor(rnd() * 6)
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
