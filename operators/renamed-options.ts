/**
 * Options renamed in 0.2 (one convention: durations in ms without a unit suffix, like `interval`; a most-of
 * bound is `max<Thing>`, like `maxInFlight` and `batchByKey`'s `maxBatchSize`; a name kafkajs already uses for
 * something else is not reused). No aliases: an old name passed from JavaScript, or through a cast, would
 * otherwise be ignored without a word and its default applied.
 */

/** The renames of one stage: old name -> new name. */
export type Renames = Readonly<Record<string, string>>

/**
 * Throws when `options` holds an option under its old name, naming the stage and the new name.
 *
 * ```text
 * rejectRenamed('publish', { lingerMs: 2 }, { lingerMs: 'linger' })
 *   -> TypeError: publish: the option lingerMs was renamed linger (same meaning, same default)
 * ```
 *
 * @throws {TypeError} For the first old name found.
 */
export function rejectRenamed(stage: string, options: object | null | undefined, renames: Renames): void {
  if (options === null || typeof options !== 'object') return
  for (const old of Object.keys(renames)) {
    if (Object.prototype.hasOwnProperty.call(options, old)) {
      throw new TypeError(`${stage}: the option ${old} was renamed ${renames[old]} (same meaning, same default)`)
    }
  }
}
