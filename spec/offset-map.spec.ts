import { expect } from 'chai'
import fc from 'fast-check'
import { decodeOffsetMap, encodeOffsetMap, DEFAULT_OFFSET_MAP_BYTES } from '../lib/tracker/offset-map'

// Flat half-open ranges of the finished flags, offset base + i finished when flags[i].
function rangesOf(base: number, flags: readonly boolean[]): number[] {
  const out: number[] = []
  for (let i = 0; i < flags.length; i++) {
    if (!flags[i]) continue
    if (out.length > 0 && out[out.length - 1] === base + i) out[out.length - 1] = base + i + 1
    else out.push(base + i, base + i + 1)
  }
  return out
}

function offsetsOf(ranges: readonly number[]): number[] {
  const out: number[] = []
  for (let i = 0; i < ranges.length; i += 2) for (let o = ranges[i]!; o < ranges[i + 1]!; o++) out.push(o)
  return out
}

const base = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 10_000 }))
const flags = fc.array(fc.boolean(), { maxLength: 600 })

describe('offset map (commit metadata)', () => {
  it('names nothing when nothing finished, and decodes the example', () => {
    expect(encodeOffsetMap(100, [], 4096).metadata).to.equal('')
    const { metadata } = encodeOffsetMap(100, [102, 104, 110, 111], 4096)
    expect(metadata.startsWith('krx1:2s:2.2.6.1:')).to.equal(true)
    expect(decodeOffsetMap(metadata, '100')).to.deep.equal([102, 104, 110, 111])
  })

  // Round trip: within the default budget, decode(encode(set)) is the set.
  // Catches: a gap measured from the previous range's start instead of its end (off by the run length),
  // the first gap taken as >= 1 (a finished committed offset lost), a length off by one.
  it('round trip: every finished set that fits comes back whole', () => {
    fc.assert(
      fc.property(base, flags, (b, f) => {
        const ranges = rangesOf(b, f)
        const map = encodeOffsetMap(b, ranges, DEFAULT_OFFSET_MAP_BYTES)
        expect(map.offsets).to.equal(map.finished)
        expect(decodeOffsetMap(map.metadata, String(b))).to.deep.equal(ranges)
      }),
      { numRuns: 500 },
    )
  })

  // Budget: the map never exceeds maxBytes, and holds the longest prefix of the ranges that fits.
  // Catches: the check's 7 chars left out of the room (maps up to 8 bytes over budget), dropping the whole
  // map instead of keeping a prefix, a prefix cut one range short.
  it('budget: never over maxBytes, and the longest prefix of ranges that fits', () => {
    fc.assert(
      fc.property(base, flags, fc.integer({ min: 0, max: 300 }), (b, f, maxBytes) => {
        const ranges = rangesOf(b, f)
        const map = encodeOffsetMap(b, ranges, maxBytes)
        expect(Buffer.byteLength(map.metadata)).to.be.at.most(maxBytes)
        const decoded = decodeOffsetMap(map.metadata, String(b))
        expect(decoded).to.deep.equal(ranges.slice(0, decoded.length))
        if (decoded.length < ranges.length) {
          const longer = encodeOffsetMap(b, ranges.slice(0, decoded.length + 2), Number.MAX_SAFE_INTEGER).metadata
          expect(longer.length).to.be.greaterThan(maxBytes)
        }
      }),
      { numRuns: 500 },
    )
  })

  // Safety: for any finished set, budget, committed offset and corruption (a char changed, cut, inserted,
  // or an entire foreign string), every decoded offset is a finished one: an unfinished record is never skipped.
  // Catches: no check verified (a flipped run length names unfinished offsets), the base not compared with
  // the committed offset (another commit's map applied), a truncated map decoded as its readable part.
  it('safety: whatever the corruption, decoded offsets are a subset of the finished ones', () => {
    const corruption = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), char: fc.constantFrom(...'0123456789az.:k-') }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), char: fc.constantFrom(...'01z.:') }),
      fc.record({ kind: fc.constant('foreign' as const), text: fc.string({ maxLength: 80 }) }),
      fc.record({ kind: fc.constant('none' as const) }),
    )
    fc.assert(
      fc.property(base, flags, fc.integer({ min: 0, max: 5000 }), fc.integer({ min: -2, max: 2 }), corruption, (b, f, maxBytes, shift, c) => {
        const ranges = rangesOf(b, f)
        let text = encodeOffsetMap(b, ranges, maxBytes).metadata
        const at = 'at' in c && text.length > 0 ? c.at % text.length : 0
        if (c.kind === 'set') text = text.slice(0, at) + c.char + text.slice(at + 1)
        else if (c.kind === 'cut') text = text.slice(0, at)
        else if (c.kind === 'insert') text = text.slice(0, at) + c.char + text.slice(at)
        else if (c.kind === 'foreign') text = c.text
        const committed = Math.max(0, b + shift)
        const finished = new Set(offsetsOf(ranges))
        // A map read against another committed offset names nothing at all.
        const decoded = offsetsOf(decodeOffsetMap(text, String(committed)))
        for (const o of decoded) expect(finished.has(o), `offset ${o} decoded but not finished`).to.equal(true)
        if (committed !== b) expect(decoded).to.deep.equal([])
      }),
      { numRuns: 1000 },
    )
  })

  it('ignores maps of another format or malformed runs', () => {
    const { metadata } = encodeOffsetMap(5, [6, 8], 4096)
    for (const text of [null, undefined, '', 'krx0' + metadata.slice(4), metadata + ' ', 'hello world', '{"offsets":[6,7]}']) {
      expect(decodeOffsetMap(text, '5')).to.deep.equal([])
    }
  })
})
