/**
 * The demo's first phase: producing the workload, with a live progress bar and a line on how it went.
 */
import type { Producer } from 'kafkajs'
import type { DemoOptions } from './demo-args'
import { bar, count, duration } from './demo-display'
import type { Interrupt } from './demo-process'
import type { DemoScreen } from './demo-screen'
import { produceWorkload, type ProducedWorkload } from './demo-workload'

/**
 * Produces the workload `options` describe to `topic` (see {@link produceWorkload}), showing the records
 * acknowledged so far; Ctrl-C stops it between requests. Then says how many were produced, how fast, and
 * how hot the hottest customer is.
 *
 * @example
 * const workload = await produceWithProgress(producer, 'orders-1a2b', options, interrupt, screen)
 */
export async function produceWithProgress(
  producer: Producer,
  topic: string,
  options: DemoOptions,
  interrupt: Interrupt,
  screen: DemoScreen,
): Promise<ProducedWorkload> {
  const started = Date.now()
  let acked = 0
  screen.showStatus(() => {
    const f = acked / options.records
    return {
      lines: [`Producing   ${bar(f, 40)} ${(100 * f).toFixed(1).padStart(5)}%  ${count(acked)} / ${count(options.records)} orders`],
      compact: `producing: ${count(acked)} / ${count(options.records)} orders acknowledged`,
    }
  })
  const workload = await produceWorkload(producer, {
    topic,
    records: options.records,
    keys: options.keys,
    partitions: options.partitions,
    skew: options.skew,
    onProgress: n => (acked = n),
    aborted: () => interrupt.requested,
  })
  screen.endStatus()
  const ms = Date.now() - started
  const { customer, share } = workload.hottest
  const stopped = workload.records < options.records ? ` (stopped early, of ${count(options.records)})` : ''
  screen.say(`Produced ${count(workload.records)} orders${stopped} over ${count(options.keys)} customers in ${duration(ms)} ` +
    `(${count((workload.records * 1000) / Math.max(1, ms))}/s, acks -1); the hottest customer, ${customer}, ` +
    `placed ${(100 * share).toFixed(1)}% of them.`)
  return workload
}
