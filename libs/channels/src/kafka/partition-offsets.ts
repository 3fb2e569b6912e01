/**
 * Where one partition's consumer stands: the next offset to fetch, the offsets handed out and not
 * finished yet, and what the consumer group has committed.
 *
 * Deliveries finish out of order (up to maxInFlight at once), but a Kafka commit is one offset per
 * partition meaning "everything before it is done". The offset to commit is therefore the lowest
 * unfinished offset, or the fetch position when nothing is unfinished: a restart redelivers every
 * message that was not finished and nothing before the first of them (upstream's OffsetManager does
 * the same with a bit set). Offsets never taken (control records, compacted gaps, malformed records)
 * count as finished: only taken offsets can hold the commit back.
 */
export class PartitionOffsets {
  /**
   * Offsets taken and not finished. They are taken in increasing order and a Set iterates in insertion
   * order, so its first element is the lowest; memory is one entry per unfinished message only.
   */
  private readonly open = new Set<bigint>();

  /**
   * @param position the next offset to fetch (the committed offset, or the end of the log for a new group)
   * @param committed what the group has committed (-1 when nothing)
   */
  constructor(
    private next: bigint,
    public committed: bigint,
  ) {}

  /** The next offset to fetch. */
  get position(): bigint {
    return this.next;
  }

  /** How many taken offsets are not finished. */
  get unfinished(): number {
    return this.open.size;
  }

  /** Records `offset` as handed out; offsets must be taken in increasing order, at or past the position. */
  take(offset: bigint): void {
    if (offset < this.next) throw new RangeError(`offset ${offset} taken behind the position ${this.next}`);
    this.open.add(offset);
    this.next = offset + 1n;
  }

  /** Moves the position past offsets that are not handed out (control records, gaps, malformed records). */
  skipTo(position: bigint): void {
    if (position > this.next) this.next = position;
  }

  /** Moves the position anywhere (an out-of-range position reset); only when nothing is unfinished. */
  reset(position: bigint): void {
    if (this.open.size > 0) throw new Error('cannot reset a partition with unfinished offsets');
    this.next = position;
  }

  /** Marks `offset` finished; false when it was not unfinished. */
  finish(offset: bigint): boolean {
    return this.open.delete(offset);
  }

  /** The offset to commit: the lowest unfinished one, else the position. */
  commitPoint(): bigint {
    for (const offset of this.open) return offset;
    return this.next;
  }

  /** Whether the commit point is ahead of what the group has committed. */
  needsCommit(): boolean {
    return this.commitPoint() > this.committed;
  }
}
