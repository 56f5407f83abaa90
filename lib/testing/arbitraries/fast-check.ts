import type * as FastCheck from 'fast-check'

/**
 * fast-check, loaded on first use: it is an optional peer dependency of `kafka-rx/testing`, so importing the
 * package (for `runMarbles`, say) must work without it; only the arbitraries and `assertPipeline` need it.
 */
export function fastCheck(): typeof FastCheck {
  try {
    return require('fast-check') as typeof FastCheck
  } catch (error) {
    throw new Error('kafka-rx/testing: the arbitraries and assertPipeline need fast-check (an optional peer dependency): npm install --save-dev fast-check', {
      cause: error,
    })
  }
}
