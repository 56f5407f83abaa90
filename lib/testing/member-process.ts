import { throwError, type Observable, type SchedulerLike, type Subscription } from 'rxjs'
import { fromKafka, type FromKafkaOptions, type KafkaSource } from '../source/from-kafka'
import type { InMemoryConsumer } from './in-memory/in-memory-consumer'
import type { InMemoryKafka } from './in-memory/in-memory-kafka'
import { pipelineContext, type PipelineContext, type RunState } from './pipeline-context'

/** A user's pipeline as `runPipeline` runs it: built from a source and the world's context. */
export type PipelineUnderTest<K, V> = (source: KafkaSource<K, V>, context: PipelineContext) => Observable<unknown>

/**
 * Source options a run passes on to `fromKafka`: `topics` comes from the world, and a run always reads from
 * the beginning (the checkers hold the group responsible for every record of the log).
 */
export type RunSourceOptions<K, V> = Omit<FromKafkaOptions<K, V>, 'topics' | 'signal' | 'fromBeginning'>

/**
 * One process of one group member in a run: an in-memory consumer, a `fromKafka` source over it, and the
 * user's pipeline subscribed to it. It ends by a kill (SIGKILL: the subscription is torn down, nothing it
 * sends reaches the broker), by its pipeline erroring, or by a clean unsubscribe.
 */
export class MemberProcess {
  readonly consumer: InMemoryConsumer
  #alive = true
  #ended = false
  readonly #source: KafkaSource<unknown, unknown>
  readonly #subscription: Subscription

  constructor(
    kafka: InMemoryKafka,
    readonly member: string,
    topic: string,
    pipeline: PipelineUnderTest<any, any>,
    sourceOptions: RunSourceOptions<any, any>,
    scheduler: SchedulerLike,
    private readonly state: RunState,
  ) {
    const consumer = (this.consumer = kafka.consumer({ groupId: 'world', member }))
    this.#source = fromKafka(() => consumer, { ...sourceOptions, fromBeginning: true, topics: [topic] })
    const actor = consumer.actor
    const context = pipelineContext(actor, scheduler, state, () => this.#alive, this.#source.isStale)
    let output: Observable<unknown>
    try {
      output = pipeline(this.#source, context)
    } catch (error) {
      output = throwError(() => error) // a pipeline that throws while being built errors like one that errors
    }
    this.#subscription = output.subscribe({
      error: (error: unknown) => this.#end('error', error),
      complete: () => this.#end('stop', undefined),
    })
  }

  /** False once killed, errored or stopped. */
  get alive(): boolean {
    return this.#alive && !this.#ended
  }

  /** SIGKILL: the process stops logging, the group rebalances without it, its subscription is torn down. */
  async kill(): Promise<void> {
    if (!this.alive) return
    this.#alive = false
    this.state.events.push({ ...this.consumer.actor, kind: 'crash' })
    const rebalanced = this.consumer.kill()
    this.#subscription.unsubscribe()
    await this.#source.closed().catch(() => undefined)
    await rebalanced
  }

  /** A clean shutdown: unsubscribing commits what finished, then stops the consumer. */
  async stop(): Promise<void> {
    if (this.alive) this.#end('stop', undefined)
    this.#subscription.unsubscribe()
    await this.#source.closed().catch(() => undefined)
  }

  /** Resolves once the source shut down (after an error, say). */
  closed(): Promise<void> {
    return this.#source.closed().catch(() => undefined)
  }

  #end(kind: 'error' | 'stop', error: unknown): void {
    if (this.#ended) return
    this.#ended = true
    const message = error === undefined ? undefined : error instanceof Error ? error.message : String(error)
    if (this.#alive) this.state.events.push({ ...this.consumer.actor, kind, ...(message === undefined ? {} : { message }) })
    this.#alive = false
  }
}
