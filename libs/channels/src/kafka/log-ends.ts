/** Lists the end of the log (high watermark) of some partitions of a topic. */
export type ListLogEnds = (topic: string, partitions: readonly number[]) => Promise<Map<number, bigint>>;

interface End {
  offset: bigint;
  /** When it was seen (a fetch answer's arrival, or the start of the request that listed it). */
  at: number;
}

interface TopicEnds {
  readonly ends: Map<number, End>;
  /** Partitions read as stale (or unknown) since the last refresh started. */
  readonly wanted: Set<number>;
  refreshing: boolean;
  /** When the last refresh started. */
  refreshedAt: number;
}

/**
 * The end of each partition's log (its high watermark), as last seen, per topic: every fetch answer
 * tells it for free; a partition nobody fetched for `refreshMs` (its consumers are full, or stopped) is
 * listed again, one request per topic at most every `refreshMs`, started when a stale value is read.
 * Reads are synchronous and report the last known value, so consumer lag costs a scrape nothing.
 */
export class LogEnds {
  private readonly topics = new Map<string, TopicEnds>();

  constructor(
    private readonly list: ListLogEnds,
    private readonly refreshMs: number,
    private readonly onError: (error: unknown, topic: string) => void,
  ) {}

  /** Records a partition's high watermark from a fetch answer. */
  seen(topic: string, partition: number, offset: bigint, now = Date.now()): void {
    if (offset < 0n) return;
    const ends = this.topic(topic).ends;
    const end = ends.get(partition);
    if (end === undefined) ends.set(partition, { offset, at: now });
    else {
      end.offset = offset;
      end.at = now;
    }
  }

  /**
   * The last known end of a partition's log, undefined when none is known yet. A value older than
   * `refreshMs` (or none) marks the partition for the next `refresh`.
   */
  end(topic: string, partition: number, now = Date.now()): bigint | undefined {
    const t = this.topic(topic);
    const end = t.ends.get(partition);
    if (end === undefined || now - end.at >= this.refreshMs) t.wanted.add(partition);
    return end?.offset;
  }

  /**
   * Lists the ends of the partitions read as stale, in the background: one request per topic, none
   * for a topic refreshed less than `refreshMs` ago or being refreshed now.
   */
  refresh(now = Date.now()): void {
    for (const [topic, t] of this.topics) {
      if (t.wanted.size === 0 || t.refreshing || now - t.refreshedAt < this.refreshMs) continue;
      const partitions = [...t.wanted].sort((a, b) => a - b);
      t.wanted.clear();
      t.refreshing = true;
      t.refreshedAt = now;
      this.list(topic, partitions).then(
        (listed) => {
          t.refreshing = false;
          for (const [partition, offset] of listed) {
            const end = t.ends.get(partition);
            // A fetch answer that came meanwhile is newer than what this request saw.
            if (offset >= 0n && (end === undefined || end.at <= now))
              t.ends.set(partition, { offset, at: now });
          }
        },
        (err: unknown) => {
          t.refreshing = false;
          this.onError(err, topic);
        },
      );
    }
  }

  /** Forgets a topic (deleted: one created again under its name starts from nothing). */
  forget(topic: string): void {
    this.topics.delete(topic);
  }

  private topic(name: string): TopicEnds {
    let t = this.topics.get(name);
    if (t === undefined) {
      t = { ends: new Map(), wanted: new Set(), refreshing: false, refreshedAt: -Infinity };
      this.topics.set(name, t);
    }
    return t;
  }
}
