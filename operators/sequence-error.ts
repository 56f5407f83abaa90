import { KafkaRxError } from './kafka-rx-error'

/**
 * `orderedMerge` received items whose positions (`seq`) cannot be put back in order: a seq that came twice or
 * after it was emitted (items duplicated upstream), or a source that completed while a lane still waited for a
 * missing seq (items lost upstream). `lane` names the first lane concerned, `seq` the position at fault (the
 * duplicated one, or the missing one the lane waits for).
 *
 * Not retriable: the stages before `orderedMerge` break its contract (each delivered item once, seqs dense),
 * so a run again meets the same bug; it is fixed upstream, in the pipeline.
 *
 * ```text
 * source:       c-c-a-|          (seqs 2, 2, 0 of lane orders-0)
 * orderedMerge: --#              SequenceError: seq 2 ... arrived twice
 * ```
 *
 * @example
 * ```ts
 * pipeline.subscribe({ error: (e) => { if (e instanceof SequenceError) console.error('duplicated upstream in', e.lane) } })
 * ```
 */
export class SequenceError extends KafkaRxError {
  override readonly name = 'SequenceError'

  constructor(
    message: string,
    /** The lane (e.g. `orders-3`: topic and partition) concerned, the first one when several are. */
    readonly lane: string,
    /** The seq that arrived twice or late, or the missing seq the lane waits for. */
    readonly seq: number,
  ) {
    super(message, { stage: 'orderedMerge', retriable: false })
  }
}
