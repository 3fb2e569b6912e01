import {
  crashContract,
  crashUnderLoad,
  expectNothingLost,
  withCrashFixture,
  withNats,
} from '@eventing/testing';

// Two replicas of nats-channel-dispatcher share one NatsJetStreamChannel (one durable pull consumer
// per subscription, pulled from by both). 10,000 events go in through replica A; replica B is
// SIGKILLed half-way and started again. Every event answered 202 must reach the subscriber at least once.
//
// Duplicates bound. Each message is acknowledged on its own as soon as its delivery ends, so a message
// is delivered twice only when B delivered it and its ack never reached the server: it was in flight
// at the kill (or its ack still in B's socket buffer). JetStream hands out at most MaxAckPending
// unacknowledged messages of a consumer across all its clients, and the dispatcher sets MaxAckPending
// to the subscription's maxInFlight, so duplicates ≤ M. (What B had pulled and not yet delivered comes
// back after AckWait: redelivered, not duplicated.)
jest.setTimeout(300_000);

const nats = withNats();
const crash = withCrashFixture('nats-channel-dispatcher');
const M = 16; // MAX_IN_FLIGHT per subscription

it('nats-channel-dispatcher: a replica SIGKILLed under load loses no accepted event, and duplicates are bounded by what was unacknowledged', async () => {
  crashContract(crash.contractPath, 'channel', 'jetstream', crash.subscriber.url);
  const replica = () =>
    crash.start('nats-channel-dispatcher', {
      CONTRACT_PATH: crash.contractPath,
      NATS_URL: nats.url,
      MAX_IN_FLIGHT: String(M),
      // What B held at the kill comes back to A (or the new B) this long after it was handed out.
      ACK_WAIT_MS: '3000',
    });
  const a = await replica();
  const b = await replica();

  const run = await crashUnderLoad({
    target: `${a.url}/crash/events`,
    subscriber: crash.subscriber,
    victim: b,
    restart: replica,
  });
  expectNothingLost(run, 'nats-channel-dispatcher crash (events through replica A, replica B killed)', {
    bound: M,
    reason: `${M} = maxInFlight = the durable consumer's MaxAckPending`,
  });
});
