import { expect } from 'chai'
import { DEAD_LETTER_HEADERS, deadLetterOf, defaultDeadLetterEncoder, describeError } from '../lib/publish/dead-letter'
import { recordBuilder } from '../lib/testing/records'

describe('deadLetterOf', () => {
  const make = recordBuilder({ topic: 'orders' })

  it('keeps key, value and headers, and names origin, error and attempts', () => {
    const record = make({ partition: 3, offset: 17, key: 'k', value: 'v', headers: { trace: 't' } })
    expect(deadLetterOf(record, { error: new TypeError('bad'), attempts: 4 })).to.deep.equal({
      key: 'k',
      value: 'v',
      headers: {
        trace: 't',
        [DEAD_LETTER_HEADERS.topic]: 'orders',
        [DEAD_LETTER_HEADERS.partition]: '3',
        [DEAD_LETTER_HEADERS.offset]: '17',
        [DEAD_LETTER_HEADERS.error]: 'TypeError: bad',
        [DEAD_LETTER_HEADERS.attempts]: '4',
        [DEAD_LETTER_HEADERS.reason]: 'processing',
      },
    })
  })

  it('re-encodes decoded data (JSON by default, or with the given encoder)', () => {
    const record = { ...make({ key: 'k' }), value: { id: 1 } }
    expect(deadLetterOf(record, { error: 'x', attempts: 1 }).value).to.equal('{"id":1}')
    expect(deadLetterOf(record, { error: 'x', attempts: 1 }, (_d, part) => (part === 'value' ? 'custom' : null)).value).to.equal('custom')
    expect(defaultDeadLetterEncoder(Buffer.from('b'), 'key')).to.deep.equal(Buffer.from('b'))
    expect(defaultDeadLetterEncoder(undefined, 'key')).to.equal(null)
  })

  it('sends the bytes as fetched when the record kept them (a null key included), never a re-encoding', () => {
    const raw = Buffer.from('{ "id" : 1 }') // JSON.stringify of the decoded value would give '{"id":1}'
    const record = { ...make({ key: 'k' }), value: { id: 1 }, rawKey: null, rawValue: raw }
    const letter = deadLetterOf(record, { error: 'x', attempts: 1 }, () => {
      throw new Error('must not re-encode')
    })
    expect(letter.key).to.equal(null)
    expect(letter.value).to.equal(raw)
  })

  it('cuts long error text to 4096 characters', () => {
    expect(describeError(new Error('x'.repeat(10_000)))).to.have.length(4_096)
    expect(describeError('plain')).to.equal('plain')
  })
})
