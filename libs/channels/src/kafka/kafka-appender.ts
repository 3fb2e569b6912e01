import type { AppendResult } from '../backend';
import { Deque } from '../memory/deque';
import type { ProducerRecord } from './kafka-records';

/** Bounds of the append path. */
export interface AppenderLimits {
  /**
   * Appends waiting for or inside a produce request, across all topics. Past it, appends are refused
   * at once with 503 instead of queueing (while Kafka is slow or down, memory stays bounded).
   */
  maxPending: number;
  /** Most records in one produce request. */
  maxBatchRecords: number;
  /** Most bytes in one produce request (below the broker's `message.max.bytes`, 1 MiB by default). */
  maxBatchBytes: number;
  /** Produce requests in flight at once, across topics (one per topic at most). */
  maxInFlightRequests: number;
}

/** Sends records of one topic in one produce request; resolves once the broker acknowledged all. */
export type SendBatch = (records: ProducerRecord[]) => Promise<unknown>;

interface PendingAppend {
  record: ProducerRecord;
  bytes: number;
  resolve(result: AppendResult): void;
}

/** One topic's appends waiting for a produce request. */
class TopicQueue {
  readonly items = new Deque<PendingAppend>();
  /** A produce request of this topic is in flight. */
  sending = false;
  /** In the ready queue. */
  queued = false;
  constructor(readonly topic: string) {}
}

const ACCEPTED: AppendResult = Object.freeze({ ok: true as const });
const CLOSED: AppendResult = Object.freeze({
  ok: false as const,
  status: 503 as const,
  reason: 'channel backend is closed',
  retryAfterSeconds: 1,
});

/**
 * Batches concurrent appends into produce requests: whatever accumulated for a topic while its
 * previous request was in flight goes out in the next one (up to the batch bounds), as the Java
 * producer's accumulator does with `linger.ms=0`. One request per topic is in flight at a time (the
 * idempotent producer pipelines nothing anyway), so one unavailable topic never holds back another's
 * appends beyond the request cap. A failed request fails every append in it: with acks=all nothing
 * is answered 2xx that Kafka did not acknowledge.
 */
export class KafkaAppender {
  private readonly topics = new Map<string, TopicQueue>();
  private readonly ready = new Deque<TopicQueue>();
  private count = 0;
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly flushTask = (): void => this.flush();

  constructor(
    private readonly send: SendBatch,
    private readonly limits: AppenderLimits,
    /** The refusal every append of a failed request gets. */
    private readonly failure: (error: unknown, topic: string) => AppendResult,
  ) {}

  /** Appends waiting for or inside a produce request. */
  get pending(): number {
    return this.count;
  }

  /** Queues one record; resolves once Kafka acknowledged it, or with the refusal. */
  append(record: ProducerRecord, bytes: number): Promise<AppendResult> {
    if (this.closed) return Promise.resolve(CLOSED);
    if (this.count >= this.limits.maxPending) {
      return Promise.resolve({
        ok: false,
        status: 503,
        reason: `Kafka producer buffer is full (${this.count} appends waiting for Kafka)`,
        retryAfterSeconds: 1,
      });
    }
    return new Promise<AppendResult>((resolve) => {
      let queue = this.topics.get(record.topic);
      if (queue === undefined) {
        queue = new TopicQueue(record.topic);
        this.topics.set(record.topic, queue);
      }
      queue.items.push({ record, bytes, resolve });
      this.count++;
      this.markReady(queue);
      // Appends of one tick share a request.
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.flushTask);
      }
    });
  }

  /** Resolves once nothing is waiting or in flight. */
  whenIdle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses what has not been sent yet (503) and resolves once the requests in flight settled. */
  close(): Promise<void> {
    this.closed = true;
    for (const queue of this.topics.values()) {
      for (let item = queue.items.shift(); item !== undefined; item = queue.items.shift()) {
        this.count--;
        item.resolve(CLOSED);
      }
    }
    this.notifyIdle();
    return this.whenIdle();
  }

  private markReady(queue: TopicQueue): void {
    if (queue.sending || queue.queued || queue.items.length === 0) return;
    queue.queued = true;
    this.ready.push(queue);
  }

  private flush(): void {
    this.scheduled = false;
    while (this.inFlight < this.limits.maxInFlightRequests) {
      const queue = this.ready.shift();
      if (queue === undefined) return;
      queue.queued = false;
      if (queue.items.length > 0) this.sendBatch(queue);
    }
  }

  private sendBatch(queue: TopicQueue): void {
    const batch: PendingAppend[] = [];
    const records: ProducerRecord[] = [];
    let bytes = 0;
    while (batch.length < this.limits.maxBatchRecords) {
      const next = queue.items.peek();
      if (next === undefined || (batch.length > 0 && bytes + next.bytes > this.limits.maxBatchBytes)) break;
      queue.items.shift();
      batch.push(next);
      records.push(next.record);
      bytes += next.bytes;
    }
    queue.sending = true;
    this.inFlight++;
    const settle = (result: AppendResult): void => {
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(result);
      this.count -= batch.length;
      this.inFlight--;
      queue.sending = false;
      if (queue.items.length > 0) this.markReady(queue);
      else if (!queue.queued) this.topics.delete(queue.topic);
      this.flush();
      this.notifyIdle();
    };
    let sent: Promise<unknown>;
    try {
      sent = this.send(records);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => settle(ACCEPTED),
      (err: unknown) => settle(this.failure(err, queue.topic)),
    );
  }

  private notifyIdle(): void {
    if (this.count !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
