/**
 * The members of `@platformatic/kafka` (2.12+) that the adapter calls, as structural types: kafka-rx never
 * imports the package (it needs Node >= 22.22, and Node 20 users without it must not break), so a user's
 * `Consumer` and `Producer` from it fit these as they are. Keys, values and headers stay `Buffer`s (the
 * package's default, no deserializers): kafka-rx decodes them itself (`keyDecoder`, `valueDecoder`).
 */

/** A partition list of one topic, as `consumer.assignments` holds them. */
export interface PlatformaticAssignment {
  topic: string
  partitions: number[]
}

/** A consumed message (`Message` of `@platformatic/kafka` with its default Buffer deserializers). */
export interface PlatformaticMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly timestamp: bigint
  readonly key: Buffer | undefined | null
  readonly value: Buffer | undefined | null
  readonly headers: Map<Buffer | string, Buffer | string | undefined>
  readonly leaderEpoch: number
}

/** The `MessagesStream` that `consumer.consume()` returns (a Node object-mode `Readable`). */
export interface PlatformaticMessagesStream {
  read(): unknown
  push(chunk: unknown): boolean
  pause(): unknown
  resume(): unknown
  on(event: 'readable' | 'offsets' | 'close', listener: () => void): unknown
  on(event: 'data', listener: (message: PlatformaticMessage) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  removeListener(event: string, listener: (...args: any[]) => void): unknown
  close(): Promise<void>
  readonly offsetsToFetch: Map<string, bigint>
  readonly readableLength: number
}

/** What `consume()` is called with (`ConsumeOptions`, the members the adapter sets). */
export interface PlatformaticConsumeOptions {
  topics: string[]
  autocommit: boolean
  mode: 'committed'
  fallbackMode: 'earliest' | 'latest'
}

/** A `Consumer` of `@platformatic/kafka`, made with `groupId` (and, for KIP-848, `groupProtocol: 'consumer'`). */
export interface PlatformaticConsumer {
  readonly groupId: string
  assignments: PlatformaticAssignment[] | null
  consume(options: PlatformaticConsumeOptions): Promise<PlatformaticMessagesStream>
  commit(options: { offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number }[] }): Promise<void>
  close(force?: boolean): Promise<void>
}

/** A message to produce (`MessageToProduce` with Buffer serializers). */
export interface PlatformaticMessageToProduce {
  topic: string
  key?: Buffer
  value?: Buffer
  partition?: number
  headers?: Map<Buffer, Buffer>
}

/** A `Producer` of `@platformatic/kafka` (made without `transactionalId`). */
export interface PlatformaticProducer {
  send(options: { messages: PlatformaticMessageToProduce[]; acks?: number }): Promise<unknown>
}
