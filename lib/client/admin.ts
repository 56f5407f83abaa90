/**
 * The one kafkajs admin call kafka-rx uses (to read committed offset maps back on assignment), as a
 * structural interface: a kafkajs `Admin` fits, so does a test double.
 */

/** One partition's committed offset as `admin.fetchOffsets` reports it. */
export interface FetchedOffsetLike {
  readonly partition: number
  /** '-1' when the group has no commit for it. */
  readonly offset: string
  readonly metadata: string | null
}

/** `admin.fetchOffsets`, as kafkajs 2 declares it (kafka-rx passes `groupId` and `topics`). */
export interface OffsetFetchAdminLike {
  fetchOffsets(options: { groupId: string; topics: string[] }): Promise<{ topic: string; partitions: FetchedOffsetLike[] }[]>
}
