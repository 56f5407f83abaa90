/**
 * The demo's workload: order events over skewed (Zipf-like) customers, produced fast and in a known order.
 */
import { CompressionTypes, type Producer } from 'kafkajs'
import { seededRandom } from '../lib/testing/seeded-random'

/** One order event, the JSON value of an input record (keyed by `customer`). */
export interface Order {
  /** 0, 1, 2, ... in production order: per customer, a larger id was produced later. */
  readonly orderId: number
  readonly customer: string
  /** In euros, two decimals. */
  readonly amount: number
}

/** What was produced. */
export interface ProducedWorkload {
  readonly records: number
  /** Records per partition, in partition order. */
  readonly perPartition: readonly number[]
  /** The hottest customer and its share of the orders (0..1). */
  readonly hottest: { readonly customer: string; readonly share: number }
}

/** Options of {@link produceWorkload}. */
export interface WorkloadOptions {
  readonly topic: string
  readonly records: number
  readonly keys: number
  readonly partitions: number
  /** Zipf exponent: P(rank k) is proportional to 1 / k^skew. */
  readonly skew: number
  /** Called after each acknowledged request with the records acknowledged so far. */
  readonly onProgress?: (acked: number) => void
  /** Checked between requests: true stops producing early (Ctrl-C). */
  readonly aborted?: () => boolean
}

// Records per produce request: big enough to amortise the round trip, small enough to show progress.
const RECORDS_PER_REQUEST = 12_000

/**
 * Produces `records` orders to `topic` (acks -1, no compression) and resolves when the broker acknowledged
 * them all.
 *
 * Each customer's orders go to one partition (a hash of the customer), and each request waits for the one
 * before it, so within a partition the log order is the production order (ascending `orderId`): that is
 * what lets the demo check per-customer order from the records alone. The workload is the same on every
 * run (a fixed seed): only the topic names change.
 *
 * @example
 * const workload = await produceWorkload(producer, { topic: 'orders-1a2b', records: 200_000, keys: 5_000, partitions: 12, skew: 0.8 })
 */
export async function produceWorkload(producer: Producer, options: WorkloadOptions): Promise<ProducedWorkload> {
  const { topic, records, keys, partitions, skew } = options
  const random = seededRandom(0x6b61666b) // fixed seed: the same workload on every run
  const pickRank = zipf(keys, skew, random)
  // Ranks are scattered over customer ids, so hot customers do not all share a prefix (or a partition).
  const customerOfRank = shuffled(Array.from({ length: keys }, (_, i) => i), random)
  const width = String(keys - 1).length
  const names = customerOfRank.map(id => `c-${String(id).padStart(width, '0')}`)
  const partitionOf = names.map(name => fnv1a(name) % partitions)

  const lanes: { key: string; value: string }[][] = Array.from({ length: partitions }, () => [])
  const counts = new Array<number>(keys).fill(0)
  for (let orderId = 0; orderId < records; orderId++) {
    const rank = pickRank()
    counts[rank]!++
    const customer = names[rank]!
    const amount = Math.round((1 + random() * 499) * 100) / 100
    const order: Order = { orderId, customer, amount }
    lanes[partitionOf[rank]!]!.push({ key: customer, value: JSON.stringify(order) })
  }

  // Each request takes the next records of every partition that has some left, about RECORDS_PER_REQUEST
  // in all, so a partition holding hot customers does not end up alone in a long tail of small requests.
  const sent = new Array<number>(partitions).fill(0)
  let acked = 0
  while (acked < records && options.aborted?.() !== true) {
    const open = lanes.map((lane, p) => (sent[p]! < lane.length ? p : -1)).filter(p => p >= 0)
    const perLane = Math.ceil(RECORDS_PER_REQUEST / open.length)
    const messages: { key: string; value: string; partition: number }[] = []
    for (const partition of open) {
      const lane = lanes[partition]!
      const end = Math.min(lane.length, sent[partition]! + perLane)
      for (let i = sent[partition]!; i < end; i++) messages.push({ ...lane[i]!, partition })
      sent[partition] = end
    }
    await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages })
    acked += messages.length
    options.onProgress?.(acked)
  }

  let hot = 0
  for (let rank = 1; rank < keys; rank++) if (counts[rank]! > counts[hot]!) hot = rank
  return {
    records: acked,
    perPartition: lanes.map(lane => lane.length),
    hottest: { customer: names[hot]!, share: counts[hot]! / records },
  }
}

/** A sampler of ranks 0..n-1 with P(k) proportional to 1 / (k + 1)^s: binary search over the CDF. */
function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n)
  let total = 0
  for (let k = 0; k < n; k++) cdf[k] = total += 1 / Math.pow(k + 1, s)
  return () => {
    const u = random() * total
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function shuffled<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

/** FNV-1a, 32 bits: a stable partitioner that needs no Kafka client internals. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
