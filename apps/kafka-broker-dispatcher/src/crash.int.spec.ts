import {
  crashContract,
  crashUnderLoad,
  expectNothingLost,
  kafkaDuplicatesBound,
  withCrashFixture,
  withKafka,
} from '@eventing/testing';

// The Kafka broker pair under a crash: kafka-broker-receiver takes 10,000 events into the broker's
// topic; two replicas A and B of kafka-broker-dispatcher share the trigger's consumer group (the
// partitions split between them). B is SIGKILLed half-way and started again. Every event the receiver
// answered 202 must reach the trigger's subscriber at least once, and duplicates stay within what was
// delivered and not yet committed around the kill and the rejoin (kafkaDuplicatesBound).
jest.setTimeout(300_000);

const kafka = withKafka();
const crash = withCrashFixture('kafka-broker-receiver', 'kafka-broker-dispatcher');
const M = 16; // MAX_IN_FLIGHT per trigger
const COMMIT_MS = 1_000;

it('Kafka broker pair: a dispatcher replica SIGKILLed under load loses no accepted event; duplicates are bounded by what was uncommitted', async () => {
  crashContract(crash.contractPath, 'broker', 'kafka', crash.subscriber.url, {
    numPartitions: 4,
    topic: 'knative-broker-crash-events',
  });
  const env = {
    CONTRACT_PATH: crash.contractPath,
    KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap,
    MAX_IN_FLIGHT: String(M),
    KAFKA_COMMIT_INTERVAL_MS: String(COMMIT_MS),
    // Kafka's smallest session by default: B's partitions move to A 6 s after the kill.
    KAFKA_SESSION_TIMEOUT_MS: '6000',
  };
  const receiver = await crash.start('kafka-broker-receiver', env);
  const replica = () => crash.start('kafka-broker-dispatcher', { ...env, RECEIVER_URL: receiver.url });
  await replica();
  const b = await replica();
  // B's join rebalanced the group: give A the moment to take its new assignment too.
  await new Promise((r) => setTimeout(r, 2_000));

  const run = await crashUnderLoad({
    target: `${receiver.url}/crash/events`,
    subscriber: crash.subscriber,
    victim: b,
    restart: replica,
  });
  expectNothingLost(
    run,
    'Kafka broker crash (events through the receiver, dispatcher replica B killed)',
    kafkaDuplicatesBound(run, COMMIT_MS, M),
  );
});
