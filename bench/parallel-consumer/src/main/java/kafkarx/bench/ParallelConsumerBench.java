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
import org.apache.kafka.clients.consumer.ConsumerConfig;
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
 * Args: brokers topic groupId records workMs maxConcurrency timeoutSeconds
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

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // PC commits itself; it refuses a consumer that auto-commits.
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);

    ParallelConsumerOptions<byte[], byte[]> options = ParallelConsumerOptions.<byte[], byte[]>builder()
        .consumer(consumer)
        .ordering(ProcessingOrder.KEY)
        .maxConcurrency(concurrency)
        .commitMode(CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS)
        .build();
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
    processor.poll(context -> {
      try {
        Thread.sleep(workMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      long n = processed.addAndGet(context.size());
      if (n >= records) {
        lastAt.compareAndSet(0, System.nanoTime());
        done.countDown();
      }
    });
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
