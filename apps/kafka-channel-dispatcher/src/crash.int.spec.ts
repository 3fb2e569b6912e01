import {
  crashContract,
  crashUnderLoad,
  expectNothingLost,
  kafkaDuplicatesBound,
  withCrashFixture,
  withKafka,
} from '@eventing/testing';

// Two replicas of kafka-channel-dispatcher share one KafkaChannel (one consumer group, the partitions
// split between them). 10,000 events go in through replica A; replica B is SIGKILLed half-way and
// started again. Every event answered 202 must reach the subscriber at least once, and duplicates stay
// within what was delivered and not yet committed around the kill and the rejoin (kafkaDuplicatesBound).
jest.setTimeout(300_000);

const kafka = withKafka();
const crash = withCrashFixture('kafka-channel-dispatcher');
const M = 16; // MAX_IN_FLIGHT per subscription
const COMMIT_MS = 1_000;

it('kafka-channel-dispatcher: a replica SIGKILLed under load loses no accepted event; duplicates are bounded by what was uncommitted', async () => {
  crashContract(crash.contractPath, 'channel', 'kafka', crash.subscriber.url, { numPartitions: 4 });
  const replica = () =>
    crash.start('kafka-channel-dispatcher', {
      CONTRACT_PATH: crash.contractPath,
      KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap,
      MAX_IN_FLIGHT: String(M),
      KAFKA_COMMIT_INTERVAL_MS: String(COMMIT_MS),
      // Kafka's smallest session by default: B's partitions move to A 6 s after the kill.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    });
  const a = await replica();
  const b = await replica();
  // B's join rebalanced the group: give A the moment to take its new assignment too.
  await new Promise((r) => setTimeout(r, 2_000));

  // The restarted B is ready once its consumer joined the group: the rebalance that moved partitions
  // back happened by then.
  const run = await crashUnderLoad({
    target: `${a.url}/crash/events`,
    subscriber: crash.subscriber,
    victim: b,
    restart: replica,
  });
  expectNothingLost(
    run,
    'kafka-channel-dispatcher crash (events through replica A, replica B killed)',
    kafkaDuplicatesBound(run, COMMIT_MS, M),
  );
});
