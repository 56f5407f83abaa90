import { expect } from 'chai'
import fc from 'fast-check'
import { internedBytesKeys, recordKey } from '../lib/record/record-key'

const rec = (key: unknown, partition = 0, topic = 't') => ({ topic, partition, key })

describe('recordKey', () => {
  it('is the string itself for a string key, and a string for other keys', () => {
    expect(recordKey(rec('order-1'))).to.equal('order-1')
    expect(recordKey(rec(Buffer.from('order-1')))).to.equal('order-1')
    expect(recordKey(rec(Buffer.from([0xff, 0x00])))).to.equal('\u00ff\u0000')
    expect(recordKey(rec(42))).to.equal('42')
    expect(recordKey(rec(10n))).to.equal('10')
    expect(recordKey(rec({ id: 1 }))).to.equal('{"id":1}')
  })

  it('gives Buffer keys equal results exactly when their bytes are equal', () => {
    // Invariant: recordKey(a) === recordKey(b) <=> a and b hold the same bytes (a Map then groups them).
    // Mutation seen to fail it: decoding the bytes as UTF-8 instead of latin1 (invalid sequences collapse
    // to U+FFFD, so different keys would share a queue).
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (a, b) => {
        const same = Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0
        expect(recordKey(rec(Buffer.from(a))) === recordKey(rec(Buffer.from(b)))).to.equal(same)
        // A view into a larger buffer keys by its own bytes only.
        const framed = Buffer.concat([Buffer.from([1, 2]), Buffer.from(a), Buffer.from([3])]).subarray(2, 2 + a.length)
        expect(recordKey(rec(framed))).to.equal(recordKey(rec(Buffer.from(a))))
      }),
      { numRuns: 500 },
    )
  })

  it('reads byte keys as latin1 whatever keys came before: the intern cache never answers wrong', () => {
    // Invariant: a byte key's result is always Buffer.toString('latin1') of its bytes, over sequences of keys
    // that meet in, evict and refill the cache: checked with 2- and 4-slot caches (every key meets the last
    // ones) and through recordKey's own cache, for Buffers, views and plain Uint8Arrays, short and long
    // (beyond the cached length). Mutations seen to fail it: no length check before the byte compare, a
    // compare that ignores the last byte (`i < length - 1`), and returning the pair slot's key unchecked
    // (`return first ?? second`).
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 5 }).map((a) => a.map((b) => b % 3)),
      fc.uint8Array({ minLength: 60, maxLength: 70 }).map((a) => a.map((b) => b % 2)),
      fc.uint8Array({ maxLength: 12 }),
    )
    const asKey = (a: Uint8Array, kind: string): Uint8Array =>
      kind === 'plain' ? Uint8Array.from(a) : kind === 'view' ? Buffer.concat([Buffer.from([7]), Buffer.from(a)]).subarray(1) : Buffer.from(a)
    fc.assert(
      fc.property(fc.array(fc.tuple(bytes, fc.constantFrom('buffer', 'view', 'plain')), { maxLength: 40 }), (keys) => {
        const tiny = [internedBytesKeys(2), internedBytesKeys(4)]
        for (const [a, kind] of keys) {
          const expected = Buffer.from(a).toString('latin1')
          for (const bytesKey of tiny) expect(bytesKey(asKey(a, kind))).to.equal(expected)
          expect(recordKey(rec(asKey(a, kind)))).to.equal(expected)
        }
      }),
      { numRuns: 500 },
    )
    expect(() => internedBytesKeys(3)).to.throw(RangeError, /power of two/)
    expect(() => internedBytesKeys(1)).to.throw(RangeError, /power of two/)
  })

  it('gives null keys one sentinel per topic-partition, equal to no string key', () => {
    // Invariant: null keys of (t1, p1) and (t2, p2) get equal results <=> t1 = t2 and p1 = p2, and never the
    // result of a non-null key. Mutation seen to fail it: one symbol for every null key (all partitions'
    // null-key records in one queue), and a string sentinel `null:${topic}:${partition}` (equals that key).
    fc.assert(
      fc.property(
        fc.constantFrom('a', 'b', 'null:a'), fc.nat(3), fc.constantFrom('a', 'b'), fc.nat(3), fc.string({ maxLength: 8 }),
        (t1, p1, t2, p2, other) => {
          const k1 = recordKey(rec(p1 % 2 === 0 ? null : undefined, p1, t1))
          expect(k1 === recordKey(rec(null, p2, t2))).to.equal(t1 === t2 && p1 === p2)
          expect(k1 === recordKey(rec(other, p1, t1))).to.equal(false)
          expect(k1 === recordKey(rec(`null:${t1}:${p1}`, p1, t1))).to.equal(false)
        },
      ),
      { numRuns: 500 },
    )
  })
})
