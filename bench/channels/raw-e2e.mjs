// The raw clients end to end, for bench/channels/run.mjs: produce → consume on the same server, at the
// same time, with no code of ours and no HTTP in between — the figures a channel on that store is
// compared with. Same clients and settings as raw.mjs: @platformatic/kafka with acks=all and one
// record per send (new 3-partition topic, new consumer group from the earliest offset), and
// @nats-io/jetstream publish awaiting each PubAck (new file-storage stream, durable pull consumer with
// explicit acks). `window` sends are in flight, as many as the HTTP load has requests in flight.
//
// Each record is `payload` with its index in the first 4 bytes, so the consumer knows which send it
// is. Times are epoch ms (the clock of bench/lib/load.mjs). A run resolves with
//   { start, lastAck, last, sent, received, duplicates, errors, firstError, acks, e2e, cpuMs }
// where acks (send → ack) and e2e (send → consumer has it) are sorted latencies and cpuMs is this
// process's user + system CPU (producer and consumer together) from the first send to the last arrival.
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { setTimeout as sleep } from 'node:timers/promises';
import { now } from '../lib/load.mjs';

/** Partitions of the raw topic, as raw.mjs and kafka.mjs. */
export const RAW_PARTITIONS = 3;

/** Shared bookkeeping of one raw run: sends with `window` in flight, arrivals by index. */
function tracker(count) {
  const sentAt = new Float64Array(count);
  const ackAt = new Float64Array(count);
  const arrivedAt = new Float64Array(count);
  const state = { received: 0, duplicates: 0, errors: 0, firstError: undefined, lastAck: 0, last: 0 };
  return {
    state,
    arrived(i) {
      if (!(i >= 0 && i < count)) return;
      if (arrivedAt[i] !== 0) {
        state.duplicates++;
        return;
      }
      arrivedAt[i] = state.last = now();
      state.received++;
    },
    async pump(window, op) {
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const i = next++;
          sentAt[i] = now();
          try {
            await op(i);
          } catch (err) {
            state.errors++;
            state.firstError ??= err;
          }
          ackAt[i] = state.lastAck = now();
        }
      };
      await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
    },
    /** Waits until every record arrived, nothing arrived for `stallMs`, or `timeoutMs` passed. */
    async wait(timeoutMs, stallMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = -1;
      let progressAt = Date.now();
      while (state.received < count) {
        if (state.received !== seen) {
          seen = state.received;
          progressAt = Date.now();
        }
        if (Date.now() >= deadline) return `timed out after ${timeoutMs} ms`;
        if (Date.now() - progressAt >= stallMs) return `nothing new for ${stallMs} ms`;
        await sleep(5);
      }
      return undefined;
    },
    result(start, cpu, why) {
      const acks = new Float64Array(count);
      const e2e = [];
      for (let i = 0; i < count; i++) {
        acks[i] = ackAt[i] - sentAt[i];
        if (arrivedAt[i] !== 0) e2e.push(arrivedAt[i] - sentAt[i]);
      }
      const used = process.cpuUsage(cpu);
      return {
        ...state,
        start,
        sent: count,
        why,
        acks: acks.sort(),
        e2e: Float64Array.from(e2e).sort(),
        cpuMs: (used.user + used.system) / 1000,
      };
    },
  };
}

/** The index in the first 4 bytes of a record (a Buffer or a plain Uint8Array). */
const indexOf = (bytes) => ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;

/** A copy of `payload` carrying `i` in its first 4 bytes. */
function numbered(payload, i) {
  const data = Buffer.from(payload);
  data.writeUInt32BE(i, 0);
  return data;
}

/** @platformatic/kafka: Producer (acks=all, 1 record per send) → Consumer stream, on a new topic. */
export async function rawKafka(bootstrap, { tag, count, window, payload, timeoutMs }) {
  const topic = `bench-raw-${tag}`;
  const admin = new Admin({ clientId: 'bench', bootstrapBrokers: [bootstrap] });
  await admin.createTopics({ topics: [topic], partitions: RAW_PARTITIONS, replicas: 1 });
  await admin.close();
  const t = tracker(count);
  // A new topic read from its start: no record can slip past a consumer that joins late.
  const consumer = new Consumer({
    clientId: 'bench',
    groupId: `bench-raw-${tag}`,
    bootstrapBrokers: [bootstrap],
    maxWaitTime: 500, // as the channel's consumers
  });
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 1000 });
  let consumeError;
  stream.on('data', (message) => t.arrived(indexOf(message.value)));
  stream.on('error', (err) => (consumeError ??= err));
  const producer = new Producer({ clientId: 'bench', bootstrapBrokers: [bootstrap], acks: -1 });
  try {
    const cpu = process.cpuUsage();
    const start = now();
    await t.pump(window, (i) => producer.send({ messages: [{ topic, value: numbered(payload, i) }] }));
    const why = await t.wait(timeoutMs);
    return t.result(start, cpu, consumeError ? `consumer failed: ${consumeError.message}` : why);
  } finally {
    await stream.close().catch(() => undefined);
    await consumer.close(true).catch(() => undefined);
    await producer.close().catch(() => undefined);
  }
}

/** @nats-io/jetstream: publish awaiting each PubAck → durable pull consumer with explicit acks, on a new stream. */
export async function rawJetStream(url, { tag, count, window, payload, timeoutMs }) {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = `BENCH_RAW_${tag.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
    const subject = `bench.raw.${tag.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File });
    await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    const consumer = await js.consumers.get(stream, 'bench');
    const messages = await consumer.consume({ max_messages: 1_000 });
    const t = tracker(count);
    let consumeError;
    const consumed = (async () => {
      for await (const m of messages) {
        t.arrived(indexOf(m.data));
        m.ack();
        if (t.state.received >= count) break;
      }
    })().catch((err) => (consumeError = err));
    const cpu = process.cpuUsage();
    const start = now();
    await t.pump(window, (i) => js.publish(subject, numbered(payload, i)));
    const why = await t.wait(timeoutMs);
    const result = t.result(start, cpu, consumeError ? `consumer failed: ${consumeError.message}` : why);
    await messages.close();
    await consumed;
    await jsm.streams.delete(stream).catch(() => undefined);
    return result;
  } finally {
    await nc.close().catch(() => undefined);
  }
}
