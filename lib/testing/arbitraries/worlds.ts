import type { Arbitrary } from 'fast-check'
import type { World } from '../world'
import { fastCheck } from './fast-check'
import { groupScripts, type GroupScriptOptions } from './group-scripts'
import { recordStreams, type RecordStreamOptions } from './record-streams'

/** Options of {@link worlds}: those of the record streams and of the group script, and the topic's name. */
export interface WorldOptions extends RecordStreamOptions, Omit<GroupScriptOptions, 'partitions'> {
  /** Default `'orders'`. */
  topic?: string
}

/**
 * Worlds for `runPipeline`: a topic's partition logs ({@link recordStreams}) and a group of members with a
 * script ({@link groupScripts}). Shrinks towards fewer records and shorter scripts.
 *
 * @example
 * fc.assert(fc.asyncProperty(worlds({ partitions: 3, members: 2 }), async (world) => {
 *   checkPipeline(await runPipeline(world, myPipeline))
 * }))
 */
export function worlds(options: WorldOptions = {}): Arbitrary<World> {
  const fc = fastCheck()
  const { topic = 'orders', partitions = 2, members = 2 } = options
  return fc
    .tuple(recordStreams({ ...options, partitions }), groupScripts({ ...options, partitions, members }))
    .map(([logs, steps]) => ({ topic, partitions: logs, members, steps }))
}
