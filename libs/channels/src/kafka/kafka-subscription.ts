import {
  type ConnectionPool,
  type Consumer as KafkaConsumer,
  type FetchOptions,
  type GroupAssignment,
  type RecordsBatch,
  FetchIsolationLevels,
  IS_CONTROL,
  ListOffsetTimestamps,
} from '@platformatic/kafka';
import type {
  Ack,
  ChannelMessage,
  ChannelRef,
  Consumer,
  MessageHandler,
  SubscriptionOptions,
} from '../backend';
import { Deque } from '../memory/deque';
import { nackDelay } from '../memory/memory-backend';
import { decodeRecord } from './kafka-records';
import { PartitionOffsets } from './partition-offsets';

/** A record that is not a CloudEvent: skipped (its offset committed past), and reported. */
export interface MalformedKafkaRecord {
  channel: ChannelRef;
  subscription: string;
  topic: string;
  partition: number;
  offset: bigint;
  reason: string;
}

/** How one subscription consumes; resolved from the backend's options and the subscribe call. */
export interface SubscriptionSettings {
  channel: ChannelRef;
  topic: string;
  groupId: string;
  /** At most one message in flight per partition (per-key order holds, even across redeliveries). */
  ordered: boolean;
  /** Messages held beyond maxInFlight (fetched, waiting for a handler) before fetching pauses. */
  buffer: number;
  nack: { initialMs: number; maxMs: number };
  commitIntervalMs: number;
  maxWaitMs: number;
  partitionMaxBytes: number;
  maxBytes: number;
  /** Wait after a failed fetch, doubling per failure up to `retryMaxMs`. */
  retryMs: number;
  retryMaxMs: number;
}

/** What a subscription needs from its backend. */
export interface SubscriptionHooks {
  /** A consumer client in group `groupId` (not started). */
  createConsumer(groupId: string): KafkaConsumer;
  /** A connection pool for fetch requests, apart from the group's heartbeats and commits. */
  createFetchPool(): ConnectionPool;
  /** Commits the end of the log for every partition the group has no offset for (upstream's InitOffsets). */
  initOffsets(groupId: string, topic: string): Promise<void>;
  /** Deletes the consumer group (the subscription is gone for good). */
  deleteGroup(groupId: string): Promise<void>;
  /** Whether closing with `reason` keeps unfinished messages in Kafka for the next start. */
  keepsOnClose(reason: string): boolean;
  onMalformed(record: MalformedKafkaRecord): void;
  /** A fetch answer told the end of a partition's log (its high watermark). */
  onLogEnd(topic: string, partition: number, highWatermark: bigint): void;
  onError(error: unknown, context: string): void;
  /** Called whenever the subscription holds no message any more (drain accounting). */
  onIdle(): void;
  /** The subscription stopped: the backend forgets it. */
  detach(subscription: KafkaSubscription): void;
}

/** One message taken from a partition, until it is finished. */
interface Pending {
  offset: bigint;
  message: ChannelMessage;
  part: PartitionState;
}

/** One assigned partition: its offsets and the messages taken from it and not finished. */
class PartitionState {
  /** Taken and waiting for a handler, in offset order (a redelivery goes back to the front). */
  readonly queue = new Deque<Pending>();
  inFlight = 0;
  /** Nacked and waiting for their redelivery timer. */
  delayed = 0;
  /** Still assigned to this member. */
  active = true;
  /** In the subscription's ready queue. */
  ready = false;

  constructor(
    readonly partition: number,
    readonly offsets: PartitionOffsets,
  ) {}

  /** Messages held in memory: queued, in flight or awaiting redelivery. */
  get held(): number {
    return this.queue.length + this.inFlight + this.delayed;
  }
}

type FetchRequestPartition = FetchOptions<
  Buffer,
  Buffer,
  Buffer,
  Buffer
>['topics'][number]['partitions'][number];
type FetchResponse = Awaited<ReturnType<KafkaConsumer['fetch']>>;

/** Kafka protocol error code OFFSET_OUT_OF_RANGE. */
const OFFSET_OUT_OF_RANGE = 1;

function isNack(ack: Ack): ack is 'nack' | { nack: number } {
  return ack === 'nack' || typeof ack === 'object';
}

function redelivery(message: ChannelMessage): ChannelMessage {
  return { event: message.event, headers: message.headers, redeliveries: message.redeliveries + 1 };
}

/** The fetch response inside a failed fetch, when the failure was per partition. */
function responseOf(error: unknown): FetchResponse | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): FetchResponse | undefined => {
    if (typeof e !== 'object' || e === null || seen.has(e)) return undefined;
    seen.add(e);
    const response = (e as { response?: FetchResponse }).response;
    if (response && Array.isArray(response.responses)) return response;
    for (const nested of (e as { errors?: unknown[] }).errors ?? []) {
      const found = visit(nested);
      if (found) return found;
    }
    return undefined;
  };
  return visit(error);
}

/**
 * One subscription's consumer: a member of its own consumer group, with its own fetch loop.
 *
 * Fetching is per partition, so backpressure is too: a partition is fetched only while the
 * subscription holds fewer than `maxInFlight + buffer` messages (and, in ordered mode, while that
 * partition holds fewer than its share), so a slow subscriber stops the fetching instead of growing a
 * queue. Up to `maxInFlight` handlers run at once across partitions; in ordered mode at most one per
 * partition, and a nacked message stays at the head of its partition until it is finished.
 * Offsets are committed periodically and on close up to the first unfinished message of each partition.
 */
export class KafkaSubscription implements Consumer {
  readonly id: string;
  private readonly consumer: KafkaConsumer;
  private readonly pool: ConnectionPool;
  private readonly partitions = new Map<number, PartitionState>();
  private readonly ready = new Deque<PartitionState>();
  private readonly delayed = new Map<NodeJS.Timeout, Pending>();
  private readonly maxInFlight: number;
  /** Most messages held before fetching stops. */
  private readonly limit: number;
  /** Fetching resumes once no more than this many are held (so each fetch has room for a batch). */
  private readonly resumeAt: number;
  /** In ordered mode, most messages one partition may hold. */
  private partitionCap: number;
  private held = 0;
  private inFlight = 0;
  private malformedCount = 0;
  private state: 'starting' | 'running' | 'closing' | 'closed' = 'starting';
  /** Fetching stopped for good (drain, close): what is not fetched stays in Kafka. */
  private fetchStopped = false;
  private looping = false;
  private loop: Promise<void> = Promise.resolve();
  /** Wakes every pending backoff sleep (close, stopFetching). */
  private readonly sleepers = new Set<() => void>();
  /** Why the first assignment failed while starting. */
  private startFailure: unknown;
  private assigning: Promise<void> = Promise.resolve();
  private commits: Promise<void> = Promise.resolve();
  private committing = false;
  private commitTimer: NodeJS.Timeout | undefined;
  private inactiveTicks = 0;
  private rejoinTimer: NodeJS.Timeout | undefined;
  private rejoinFailures = 0;
  private closeReason = 'consumer_closed';
  private keep = false;
  private closing: Promise<void> | undefined;
  private idleWaiter: (() => void) | undefined;

  constructor(
    private readonly settings: SubscriptionSettings,
    private readonly options: SubscriptionOptions,
    private readonly handler: MessageHandler,
    private readonly hooks: SubscriptionHooks,
  ) {
    this.id = options.id;
    this.maxInFlight = options.maxInFlight;
    this.limit = options.maxInFlight + settings.buffer;
    this.resumeAt = options.maxInFlight + Math.floor(settings.buffer / 2);
    this.partitionCap = this.limit;
    this.consumer = hooks.createConsumer(settings.groupId);
    this.pool = hooks.createFetchPool();
  }

  /** The channel consumed. */
  get channel(): ChannelRef {
    return this.settings.channel;
  }

  /** The topic consumed. */
  get topic(): string {
    return this.settings.topic;
  }

  /** Messages held in memory (queued, in flight, awaiting redelivery). */
  get pending(): number {
    return this.held;
  }

  /** Counts for metrics and tests. */
  stats(): { queued: number; inFlight: number; malformed: number; partitions: number[] } {
    return {
      queued: this.held - this.inFlight,
      inFlight: this.inFlight,
      malformed: this.malformedCount,
      partitions: [...this.partitions.keys()].sort((a, b) => a - b),
    };
  }

  /**
   * Events of the partitions this member owns that are not finished yet: from each one's first
   * unfinished offset (what a commit would name) to the end of its log, as `endOf` last knew it (never
   * less than what was fetched already). Other members of the group report their own partitions.
   */
  backlog(endOf: (partition: number) => bigint | undefined): number {
    let total = 0n;
    for (const part of this.partitions.values()) {
      const from = part.offsets.commitPoint();
      const known = endOf(part.partition);
      const end = known !== undefined && known > part.offsets.position ? known : part.offsets.position;
      if (end > from) total += end - from;
    }
    return Number(total);
  }

  /**
   * Joins the group and resolves once the assigned partitions' positions are known: events appended
   * after that are delivered. A new group starts at the end of the log (its offsets are committed
   * there first, as upstream's InitOffsets does), an existing one where it committed.
   */
  async start(): Promise<void> {
    const { topic, groupId } = this.settings;
    this.consumer.on('error', (err: unknown) => {
      this.hooks.onError(err, `consumer group ${groupId}`);
      this.scheduleRejoin();
    });
    this.consumer.on('consumer:group:join', (payload) => this.onJoin(payload.assignments ?? []));
    try {
      await this.hooks.initOffsets(groupId, topic);
      this.consumer.topics.track(topic);
      await this.consumer.joinGroup({});
      await this.assigning;
      if (this.startFailure !== undefined) throw this.startFailure;
    } catch (err) {
      this.state = 'closed';
      await this.consumer.close(true).catch(() => undefined);
      await this.pool.close().catch(() => undefined);
      throw err;
    }
    if (this.state !== 'starting') return;
    this.state = 'running';
    this.commitTimer = setInterval(() => this.tick(), this.settings.commitIntervalMs);
    this.wake();
  }

  /**
   * Stops fetching and handing out messages. With a reason that keeps messages (`shutdown`), what was
   * not finished stays uncommitted in Kafka for the next start and is not reported; with any other
   * reason the subscription is gone for good: messages held in memory are reported to `onDiscard`,
   * committed past, and the consumer group deleted (as upstream deletes a removed subscription's
   * group). Resolves once in-flight handlers settled (callers abort them), the offsets were committed
   * and the group left.
   */
  close(reason = 'consumer_closed'): Promise<void> {
    if (this.closing) return this.closing;
    this.closeReason = reason;
    this.keep = this.hooks.keepsOnClose(reason);
    this.state = 'closing';
    this.fetchStopped = true;
    this.hooks.detach(this);
    if (this.commitTimer) clearInterval(this.commitTimer);
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    this.wakeSleepers();
    const dropped: ChannelMessage[] = [];
    for (const part of this.partitions.values()) {
      for (let p = part.queue.shift(); p !== undefined; p = part.queue.shift()) this.drop(p, dropped);
    }
    for (const [timer, p] of this.delayed) {
      clearTimeout(timer);
      p.part.delayed--;
      this.drop(p, dropped);
    }
    this.delayed.clear();
    this.report(dropped, reason);
    this.closing = this.finishClose();
    return this.closing;
  }

  /** Stops fetching for good (graceful shutdown): what is held is still handed out and finished. */
  stopFetching(): void {
    this.fetchStopped = true;
    this.wakeSleepers();
  }

  // --- group membership ---------------------------------------------------------------------------

  private onJoin(assignments: GroupAssignment[]): void {
    const wanted = new Set(assignments.find((a) => a.topic === this.settings.topic)?.partitions ?? []);
    this.assigning = this.assigning
      .then(() => this.assign(wanted))
      .catch((err: unknown) => {
        if (this.state === 'starting') this.startFailure ??= err;
        else this.hooks.onError(err, `assigning partitions of ${this.settings.topic}`);
      });
  }

  /** Applies a new assignment: revoked partitions are committed and dropped, added ones positioned. */
  private async assign(wanted: Set<number>): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    const revoked = [...this.partitions.values()].filter((p) => !wanted.has(p.partition));
    if (revoked.length > 0) {
      await this.commit(revoked).catch((err: unknown) =>
        this.hooks.onError(err, `committing revoked partitions of ${this.settings.topic}`),
      );
      for (const part of revoked) this.revoke(part);
    }
    const added = [...wanted].filter((n) => !this.partitions.has(n)).sort((a, b) => a - b);
    if (added.length > 0) {
      const positions = await this.retrying(() => this.positions(added), 'reading committed offsets');
      if (positions === undefined) return;
      for (const n of added) {
        const { position, committed } = positions.get(n)!;
        this.partitions.set(n, new PartitionState(n, new PartitionOffsets(position, committed)));
      }
    }
    this.partitionCap = this.settings.ordered
      ? Math.max(2, Math.ceil(this.limit / Math.max(1, this.partitions.size)))
      : this.limit;
    this.wake();
  }

  /** Where each partition starts: its committed offset, else (no offset yet) the end of the log. */
  private async positions(
    partitions: number[],
  ): Promise<Map<number, { position: bigint; committed: bigint }>> {
    const { topic } = this.settings;
    const committed = (await this.consumer.listCommittedOffsets({ topics: [{ topic, partitions }] })).get(
      topic,
    );
    const missing = partitions.filter((n) => (committed?.[n] ?? -1n) < 0n);
    const latest =
      missing.length > 0
        ? (
            await this.consumer.listOffsets({
              topics: [topic],
              partitions: { [topic]: missing },
              timestamp: ListOffsetTimestamps.LATEST,
            })
          ).get(topic)
        : undefined;
    const out = new Map<number, { position: bigint; committed: bigint }>();
    for (const n of partitions) {
      const c = committed?.[n] ?? -1n;
      out.set(n, c >= 0n ? { position: c, committed: c } : { position: latest?.[n] ?? 0n, committed: -1n });
    }
    return out;
  }

  /** The partition went to another member: what it holds here is left to that member. */
  private revoke(part: PartitionState): void {
    part.active = false;
    this.partitions.delete(part.partition);
    for (let p = part.queue.shift(); p !== undefined; p = part.queue.shift()) this.release(p);
    for (const [timer, p] of this.delayed) {
      if (p.part !== part) continue;
      clearTimeout(timer);
      this.delayed.delete(timer);
      part.delayed--;
      this.release(p);
    }
  }

  /** Rejoins the group when the client gave up (a rejoin that failed while Kafka was away). */
  private scheduleRejoin(): void {
    if (this.rejoinTimer || this.state !== 'running') return;
    const delay = Math.min(
      this.settings.retryMaxMs,
      this.settings.retryMs * 2 ** Math.min(this.rejoinFailures, 10),
    );
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = undefined;
      if (this.state !== 'running' || this.consumer.isActive()) return;
      this.consumer.joinGroup({}).then(
        () => {
          this.rejoinFailures = 0;
        },
        (err: unknown) => {
          this.rejoinFailures++;
          this.hooks.onError(err, `rejoining consumer group ${this.settings.groupId}`);
          this.scheduleRejoin();
        },
      );
    }, delay);
  }

  /** Periodic work: commit, and watch the membership. */
  private tick(): void {
    if (this.state !== 'running') return;
    if (!this.committing) {
      this.commit().catch((err: unknown) =>
        this.hooks.onError(err, `committing offsets of ${this.settings.groupId}`),
      );
    }
    this.inactiveTicks = this.consumer.isActive() ? 0 : this.inactiveTicks + 1;
    if (this.inactiveTicks * this.settings.commitIntervalMs >= 5_000) this.scheduleRejoin();
  }

  // --- fetching -----------------------------------------------------------------------------------

  /** Starts the fetch loop if it is not running and some partition may be fetched. */
  private wake(): void {
    if (this.looping || this.state !== 'running' || this.fetchStopped) return;
    if (this.fetchable().length === 0) return;
    this.looping = true;
    this.loop = this.fetchLoop();
  }

  /** The partitions that may be fetched now. */
  private fetchable(): PartitionState[] {
    const out: PartitionState[] = [];
    if (this.held > this.resumeAt) return out;
    for (const part of this.partitions.values()) {
      if (!this.settings.ordered || part.held < this.partitionCap) out.push(part);
    }
    return out;
  }

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    for (;;) {
      if (this.state !== 'running' || this.fetchStopped) break;
      const parts = this.fetchable();
      if (parts.length === 0) break;
      try {
        await this.fetchOnce(parts);
        failures = 0;
      } catch (err) {
        if (this.state !== 'running' || this.fetchStopped) break;
        failures++;
        this.hooks.onError(err, `fetching ${this.settings.topic} for ${this.settings.groupId}`);
        this.consumer.clearMetadata();
        await this.sleep(
          Math.min(this.settings.retryMaxMs, this.settings.retryMs * 2 ** Math.min(failures - 1, 10)),
        );
      }
    }
    // Set here, synchronously with the decision to stop, so that a wake() right after restarts it.
    this.looping = false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private wakeSleepers(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** One fetch request per partition leader, answered together. */
  private async fetchOnce(parts: PartitionState[]): Promise<void> {
    const { topic } = this.settings;
    const metadata = await this.consumer.metadata({ topics: [topic] });
    const topicMetadata = metadata.topics.get(topic);
    if (topicMetadata === undefined) throw new Error(`topic ${topic} not found`);
    const byLeader = new Map<number, FetchRequestPartition[]>();
    for (const part of parts) {
      const leader = topicMetadata.partitions[part.partition]?.leader;
      if (leader === undefined || leader < 0)
        throw new Error(`partition ${topic}-${part.partition} has no leader`);
      let requests = byLeader.get(leader);
      if (requests === undefined) byLeader.set(leader, (requests = []));
      requests.push({
        partition: part.partition,
        fetchOffset: part.offsets.position,
        partitionMaxBytes: this.settings.partitionMaxBytes,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      });
    }
    await Promise.all(
      [...byLeader].map(([node, requests]) => this.fetchFrom(node, topicMetadata.id, requests)),
    );
  }

  private async fetchFrom(node: number, topicId: string, requests: FetchRequestPartition[]): Promise<void> {
    let response: FetchResponse;
    let failure: unknown;
    try {
      response = await this.consumer.fetch({
        node,
        topics: [{ topicId, partitions: requests }],
        maxWaitTime: this.settings.maxWaitMs,
        minBytes: 1,
        maxBytes: this.settings.maxBytes,
        isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
        connectionPool: this.pool,
      });
    } catch (err) {
      const partial = responseOf(err);
      if (partial === undefined) throw err;
      response = partial;
      failure = err;
    }
    // Stopped meanwhile: what this answer carries stays in Kafka, uncommitted.
    if (this.state !== 'running' || this.fetchStopped) return;
    let retry = false;
    for (const topicResponse of response.responses) {
      for (const answer of topicResponse.partitions) {
        const request = requests.find((r) => r.partition === answer.partitionIndex);
        const part = this.partitions.get(answer.partitionIndex);
        // The position moved meanwhile (a new assignment): this answer is for an old one.
        if (request === undefined || part === undefined || part.offsets.position !== request.fetchOffset)
          continue;
        if (answer.errorCode === 0) {
          this.hooks.onLogEnd(this.settings.topic, part.partition, answer.highWatermark);
          this.take(part, answer.records ?? []);
        } else if (answer.errorCode === OFFSET_OUT_OF_RANGE)
          await this.resetOutOfRange(part, request.fetchOffset);
        else retry = true;
      }
    }
    this.pump();
    if (retry) throw failure ?? new Error(`fetch from node ${node} answered with partition errors`);
  }

  /**
   * The position is outside the log (retention deleted records nobody had consumed, or the log was
   * truncated): resume at the earliest record still there, losing only what is gone already.
   */
  private async resetOutOfRange(part: PartitionState, position: bigint): Promise<void> {
    const { topic } = this.settings;
    const listed = async (timestamp: bigint) =>
      (
        await this.consumer.listOffsets({
          topics: [topic],
          partitions: { [topic]: [part.partition] },
          timestamp,
        })
      ).get(topic)?.[part.partition] ?? 0n;
    const earliest = await listed(ListOffsetTimestamps.EARLIEST);
    const target = position < earliest ? earliest : await listed(ListOffsetTimestamps.LATEST);
    if (!part.active || part.offsets.position !== position) return;
    this.hooks.onError(
      new Error(`offset ${position} of ${topic}-${part.partition} is out of range; resuming at ${target}`),
      `fetching ${topic} for ${this.settings.groupId}`,
    );
    if (part.offsets.unfinished === 0) part.offsets.reset(target);
    else part.offsets.skipTo(target);
  }

  /** Takes the records of one partition's answer, as many as there is room for. */
  private take(part: PartitionState, batches: readonly RecordsBatch[]): void {
    let room = this.limit - this.held;
    if (this.settings.ordered) room = Math.min(room, this.partitionCap - part.held);
    for (const batch of batches) {
      const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
      if (last < part.offsets.position) continue;
      if ((batch.attributes & IS_CONTROL) === 0) {
        for (const record of batch.records) {
          const offset = batch.firstOffset + BigInt(record.offsetDelta);
          if (offset < part.offsets.position) continue;
          // No room: the position stays here, and the rest is fetched again later.
          if (room <= 0) return this.markReady(part);
          const decoded = decodeRecord(record.headers, record.value);
          if (!decoded.ok) {
            part.offsets.skipTo(offset + 1n);
            this.malformed(part.partition, offset, decoded.reason);
            continue;
          }
          part.offsets.take(offset);
          part.queue.push({
            offset,
            message: { event: decoded.event, headers: decoded.headers, redeliveries: 0 },
            part,
          });
          this.held++;
          room--;
        }
      }
      // Past the batch's end: control records and offsets removed by compaction are nothing to deliver.
      part.offsets.skipTo(last + 1n);
    }
    this.markReady(part);
  }

  private malformed(partition: number, offset: bigint, reason: string): void {
    this.malformedCount++;
    try {
      this.hooks.onMalformed({
        channel: this.settings.channel,
        subscription: this.id,
        topic: this.settings.topic,
        partition,
        offset,
        reason,
      });
    } catch {
      // Reporting must not stall the partition.
    }
  }

  // --- dispatch -----------------------------------------------------------------------------------

  private canStart(part: PartitionState): boolean {
    return (
      part.active &&
      part.queue.length > 0 &&
      (!this.settings.ordered || (part.inFlight === 0 && part.delayed === 0))
    );
  }

  private markReady(part: PartitionState): void {
    if (part.ready || !this.canStart(part)) return;
    part.ready = true;
    this.ready.push(part);
  }

  /** Hands out messages, partitions taking turns, while slots are free. */
  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.state === 'running') {
      const part = this.ready.shift();
      if (part === undefined) return;
      part.ready = false;
      if (!this.canStart(part)) continue;
      const pending = part.queue.shift()!;
      this.inFlight++;
      part.inFlight++;
      void this.run(pending);
      this.markReady(part);
    }
  }

  private async run(pending: Pending): Promise<void> {
    let ack: Ack;
    try {
      ack = await this.handler(pending.message);
    } catch (err) {
      // A throwing handler is a bug in the handler: say so, and keep the message rather than lose it.
      try {
        this.options.onHandlerError?.(pending.message, err);
      } catch {
        // Reporting must not lose the message either.
      }
      ack = 'nack';
    }
    this.settle(pending, ack);
  }

  private settle(pending: Pending, ack: Ack): void {
    const part = pending.part;
    this.inFlight--;
    part.inFlight--;
    if (this.state === 'closing' || this.state === 'closed') {
      if (!isNack(ack)) this.finish(pending);
      else if (this.keep) this.release(pending);
      else {
        this.report([redelivery(pending.message)], this.closeReason);
        this.finish(pending);
      }
      if (this.inFlight === 0) this.idleWaiter?.();
      return;
    }
    if (!part.active) {
      // Revoked meanwhile: its new owner delivers it again from the committed offset.
      if (isNack(ack)) this.release(pending);
      else this.finish(pending);
    } else if (isNack(ack)) {
      const delay =
        ack === 'nack'
          ? nackDelay(this.settings.nack.initialMs, this.settings.nack.maxMs, pending.message.redeliveries)
          : Math.max(0, ack.nack);
      pending.message = redelivery(pending.message);
      part.delayed++;
      const timer: NodeJS.Timeout = setTimeout(() => {
        this.delayed.delete(timer);
        part.delayed--;
        part.queue.unshift(pending);
        this.markReady(part);
        this.pump();
      }, delay);
      this.delayed.set(timer, pending);
    } else {
      this.finish(pending);
    }
    this.markReady(part);
    this.pump();
    if (!this.looping && this.held <= this.resumeAt) this.wake();
  }

  /** The message is done: its offset may be committed. */
  private finish(pending: Pending): void {
    pending.part.offsets.finish(pending.offset);
    this.release(pending);
  }

  /** The message leaves memory (its offset stays uncommitted unless it was finished). */
  private release(_pending: Pending): void {
    this.held--;
    if (this.held === 0) this.hooks.onIdle();
  }

  /** A message dropped at close: reported and finished, or (kept) left uncommitted for the next start. */
  private drop(pending: Pending, reported: ChannelMessage[]): void {
    if (this.keep) {
      this.release(pending);
    } else {
      reported.push(pending.message);
      this.finish(pending);
    }
  }

  private report(messages: ChannelMessage[], reason: string): void {
    if (messages.length === 0) return;
    try {
      this.options.onDiscard?.(messages, reason);
    } catch {
      // Counting must never break closing.
    }
  }

  // --- commits and closing ------------------------------------------------------------------------

  /** Commits each partition's contiguous finished prefix; one commit at a time. */
  private commit(parts?: PartitionState[]): Promise<void> {
    const next = this.commits.then(() => this.commitNow(parts ?? [...this.partitions.values()]));
    this.commits = next.catch(() => undefined);
    return next;
  }

  private async commitNow(parts: PartitionState[]): Promise<void> {
    const { topic } = this.settings;
    const offsets = [];
    for (const part of parts) {
      if (part.offsets.needsCommit())
        offsets.push({
          topic,
          partition: part.partition,
          offset: part.offsets.commitPoint(),
          leaderEpoch: -1,
        });
    }
    if (offsets.length === 0) return;
    this.committing = true;
    try {
      await this.consumer.commit({ offsets });
      for (const { partition, offset } of offsets) {
        const part = parts.find((p) => p.partition === partition)!;
        if (offset > part.offsets.committed) part.offsets.committed = offset;
      }
    } finally {
      this.committing = false;
    }
  }

  /** Retries `op` until it succeeds or the subscription closes (undefined then). */
  private async retrying<T>(op: () => Promise<T>, what: string): Promise<T | undefined> {
    for (let failures = 0; ; failures++) {
      try {
        return await op();
      } catch (err) {
        if (this.state === 'closing' || this.state === 'closed') return undefined;
        if (this.state === 'starting' && failures >= 2) throw err;
        this.hooks.onError(err, `${what} for ${this.settings.groupId}`);
        await this.sleep(
          Math.min(this.settings.retryMaxMs, this.settings.retryMs * 2 ** Math.min(failures, 10)),
        );
      }
    }
  }

  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiter = () => {
        this.idleWaiter = undefined;
        resolve();
      };
    });
  }

  private async finishClose(): Promise<void> {
    const { groupId } = this.settings;
    await this.idle();
    await this.loop;
    await this.assigning;
    try {
      await this.commit();
    } catch (err) {
      this.hooks.onError(err, `committing offsets of ${groupId} at close`);
    }
    try {
      await this.consumer.close(true);
    } catch (err) {
      this.hooks.onError(err, `leaving consumer group ${groupId}`);
    }
    await this.pool.close().catch(() => undefined);
    if (!this.keep) {
      try {
        await this.hooks.deleteGroup(groupId);
      } catch (err) {
        this.hooks.onError(err, `deleting consumer group ${groupId}`);
      }
    }
    this.state = 'closed';
    this.hooks.onIdle();
  }
}
