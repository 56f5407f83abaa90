import type { DeadLetterSource } from './dead-letter'

/**
 * The error for a result that is not a `Result`: what came (type and a short preview), from which record, what
 * was expected, and the likely cause (an array: an async projection that returned its results as one value).
 *
 * ```text
 * received [forward(a), forward(b)]  ->  TypeError: publish: expected a Result (...) for record t/0@41,
 *                                        received an array of 2 [{"kind":"forward",...}]: an array reaches ...
 * ```
 *
 * @example
 * default: throw notAResult(item, result)
 */
export function notAResult(item: DeadLetterSource, received: unknown): TypeError {
  const hint = Array.isArray(received)
    ? ': an array reaches publish as ONE value (an async projection returning an array of results, say); ' +
      'return forwardMany(messages), or from(results) to emit them one by one'
    : received instanceof Promise ? ': a Promise inside the results (await it in the projection)' : ''
  return new TypeError(
    `publish: expected a Result (forward, forwardMany, drop or failed: an object with kind 'forward' | ` +
    `'forward-many' | 'drop' | 'failed') for record ${item.topic}/${item.partition}@${item.offset}, ` +
    `received ${preview(received)}${hint}`,
  )
}

/** `type: short text` of any value, at most ~120 characters, never throwing. */
function preview(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'function' ? `[function ${value.name}]` : JSON.stringify(value) ?? String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  if (text.length > 120) text = `${text.slice(0, 119)}…`
  const type = Array.isArray(value) ? `an array of ${value.length}` : typeof value
  return `${type} ${text}`
}
