package kafkarx.bench;

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The JVM reference of the kafka benchmark (bench/kafka.ts): Confluent Parallel Consumer with KEY ordering
 * consumes a topic from the beginning with its own group, sleeping workMs per record in the user function
 * (PC runs it on its own pool of maxConcurrency threads), and prints one JSON line when `records` records
 * were processed: the rate from the first assignment to the last record, like the Node cases.
 *
 * Mode "ctp-eos" (issue 16): the consume-transform-produce workload in PC's transactional commit mode
 * (CommitMode.PERIODIC_TRANSACTIONAL_PRODUCER, its default commit interval): each record's key and value
 * copied into a record for the topic `<groupId>-out` (made beforehand by the caller) through pollAndProduce,
 * with one transactional producer (PC initializes its transactions and commits the input offsets in them).
 * A record counts once its offset is committed: the run ends when the group's committed offsets (read every
 * 10 ms with an AdminClient) add up to `records` (the input's offsets are dense from 0), as kafka-rx's
 * exactly-once case ends when its last transaction committed.
 *
 * Args: brokers topic groupId records workMs maxConcurrency timeoutSeconds [mode: work | ctp-eos]
 */
public final class ParallelConsumerBench {
  public static void main(String[] args) throws Exception {
    String brokers = args[0];
    String topic = args[1];
    String group = args[2];
    long records = Long.parseLong(args[3]);
    long workMs = Long.parseLong(args[4]);
    int concurrency = Integer.parseInt(args[5]);
    long timeoutSeconds = Long.parseLong(args[6]);
    boolean eos = args.length > 7 && args[7].equals("ctp-eos");
    String output = group + "-out";

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // PC commits itself; it refuses a consumer that auto-commits.
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    // Kafka's default is read_uncommitted; kafkajs's (and so kafka-rx's) is read_committed.
    if (eos) props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);

    ParallelConsumerOptions.ParallelConsumerOptionsBuilder<byte[], byte[]> builder = ParallelConsumerOptions.<byte[], byte[]>builder()
        .consumer(consumer)
        .ordering(ProcessingOrder.KEY)
        .maxConcurrency(concurrency)
        .commitMode(eos ? CommitMode.PERIODIC_TRANSACTIONAL_PRODUCER : CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS);
    if (eos) builder.producer(transactionalProducer(brokers, group + "-pc"));
    ParallelConsumerOptions<byte[], byte[]> options = builder.build();
    ParallelStreamProcessor<byte[], byte[]> processor = ParallelStreamProcessor.createEosStreamProcessor(options);

    AtomicLong processed = new AtomicLong();
    AtomicLong firstAt = new AtomicLong();
    AtomicLong lastAt = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    long started = System.nanoTime();
    // The clock starts at the first assignment, as the Node cases' does at their group join.
    processor.subscribe(List.of(topic), new ConsumerRebalanceListener() {
      @Override
      public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}

      @Override
      public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        firstAt.compareAndSet(0, System.nanoTime());
      }
    });
    if (eos) {
      processor.pollAndProduce(context -> {
        sleep(workMs);
        return new ProducerRecord<>(output, context.key(), context.value());
      });
      watchCommits(brokers, group, topic, records, processed, lastAt, done);
    } else {
      processor.poll(context -> {
        sleep(workMs);
        long n = processed.addAndGet(context.size());
        if (n >= records) {
          lastAt.compareAndSet(0, System.nanoTime());
          done.countDown();
        }
      });
    }
    boolean finished = done.await(timeoutSeconds, TimeUnit.SECONDS);
    long end = finished ? lastAt.get() : System.nanoTime();
    long first = firstAt.get() == 0 ? started : firstAt.get();
    processor.close();

    double ms = (end - first) / 1e6;
    long n = processed.get();
    StringBuilder json = new StringBuilder("{");
    json.append("\"records\":").append(n);
    json.append(",\"finished\":").append(finished);
    json.append(",\"ms\":").append(String.format(java.util.Locale.ROOT, "%.1f", ms));
    json.append(",\"records_per_s\":").append(String.format(java.util.Locale.ROOT, "%.1f", n / (ms / 1000.0)));
    json.append(",\"assigned_after_ms\":").append(String.format(java.util.Locale.ROOT, "%.1f", (first - started) / 1e6));
    json.append(",\"peak_rss_mib\":").append(String.format(java.util.Locale.ROOT, "%.1f", peakRssKib() / 1024.0));
    json.append("}");
    System.out.println(json);
    System.out.flush();
    System.exit(finished ? 0 : 3);
  }

  private static void sleep(long ms) {
    if (ms <= 0) return;
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A producer for PC's transactional mode: a transactional.id (PC calls initTransactions), defaults otherwise. */
  private static KafkaProducer<byte[], byte[]> transactionalProducer(String brokers, String transactionalId) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return new KafkaProducer<>(props);
  }

  /**
   * On a daemon thread: every 10 ms, the sum of the group's committed offsets of `topic` into `committed`;
   * once it reaches `records`, the end time and `done`.
   */
  private static void watchCommits(String brokers, String group, String topic, long records, AtomicLong committed, AtomicLong lastAt, CountDownLatch done) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    Thread watcher = new Thread(() -> {
      try (Admin admin = Admin.create(props)) {
        while (done.getCount() > 0) {
          long sum = 0;
          for (Map.Entry<TopicPartition, OffsetAndMetadata> e : admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().entrySet()) {
            if (e.getKey().topic().equals(topic) && e.getValue() != null) sum += e.getValue().offset();
          }
          committed.set(sum);
          if (sum >= records) {
            lastAt.compareAndSet(0, System.nanoTime());
            done.countDown();
          } else {
            Thread.sleep(10);
          }
        }
      } catch (Exception e) {
        if (!(e instanceof InterruptedException)) e.printStackTrace();
      }
    }, "commit-watcher");
    watcher.setDaemon(true);
    watcher.start();
  }

  /** VmHWM: the resident set's high-water mark, as the kernel counts it (Linux only; 0 elsewhere). */
  private static long peakRssKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    } catch (Exception e) {
      // not Linux
    }
    return 0;
  }
}
