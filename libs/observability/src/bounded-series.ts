/**
 * The label value folded samples carry instead of the values that found no room, and the fixed
 * value ingress uses for the broker and event type of a 404 (a path that names no broker).
 */
export const FOLDED_LABEL_VALUE = 'other';

/** One Map key for a list of label values; length-prefixed so two different lists never collide. */
export function seriesKey(values: readonly string[]): string {
  let key = '';
  for (const value of values) key += `${value.length}:${value}`;
  return key;
}

/** How one labelled metric is bounded. */
export interface BoundedSeriesOptions<H> {
  labelNames: readonly string[];
  /** Labels whose values come from clients or resource names: the first to become `other`. */
  foldable: readonly string[];
  /** Most distinct label combinations the metric may hold, fold buckets included. */
  maxSeries: number;
  /** Makes the series of a new combination (prom-client's `labels()`). */
  create(labels: Record<string, string>): H;
  /** Called once per sample whose labels were folded. */
  onFold(): void;
}

/** A level of the lookup tree: label value → next level, or → the series at the last level. */
type Level = Map<string, unknown>;

/**
 * The series of one labelled metric, at most `maxSeries` of them. A new combination gets its own
 * series while there is room; once there is not, its foldable labels become `other` and it shares
 * that bucket (keeping bounded labels such as response_code); when the buckets are full too, every
 * label becomes `other`. A tenth of the budget (at least one series) is kept for the buckets, and
 * the all-`other` series always has room, so the count never passes `maxSeries`.
 * Per sample: one Map lookup per label, on the caller's strings as they are (no key is built);
 * folding work happens only on a miss.
 */
export class BoundedSeries<H> {
  private readonly root: Level = new Map();
  private readonly foldMask: boolean[];
  private readonly maxOwn: number;
  private readonly allOther: string[];
  private own = 0;
  private count = 0;
  /** Whether the last `get` folded its values into a bucket (a handle found that way is not kept). */
  lastFolded = false;

  constructor(private readonly options: BoundedSeriesOptions<H>) {
    if (!Number.isInteger(options.maxSeries) || options.maxSeries < 1)
      throw new RangeError(`maxSeries ${options.maxSeries}: expected an integer of at least 1`);
    if (options.labelNames.length === 0) throw new RangeError('a bounded metric needs at least one label');
    this.foldMask = options.labelNames.map((name) => options.foldable.includes(name));
    this.maxOwn = options.maxSeries - Math.max(1, Math.floor(options.maxSeries / 10));
    this.allOther = options.labelNames.map(() => FOLDED_LABEL_VALUE);
  }

  /** Distinct series held so far. */
  get size(): number {
    return this.count;
  }

  /**
   * The series for these label values (in `labelNames` order), or the bucket they fold into.
   * `folded`: the caller already replaced a value with `other`; the sample is counted as folded once.
   */
  get(values: readonly string[], folded = false): H {
    const hit = this.find(values);
    if (hit === undefined) return this.miss(values, folded);
    this.lastFolded = folded;
    if (folded) this.options.onFold();
    return hit;
  }

  private find(values: readonly string[]): H | undefined {
    let level: Level | undefined = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last && level !== undefined; i++)
      level = level.get(values[i] as string) as Level | undefined;
    return level?.get(values[last] as string) as H | undefined;
  }

  private miss(values: readonly string[], folded: boolean): H {
    let handle: H | undefined;
    if (this.own < this.maxOwn) {
      this.own++;
      handle = this.add(values);
    } else {
      const bucket = values.map((value, i) => (this.foldMask[i] ? FOLDED_LABEL_VALUE : value));
      // Values that already are their bucket (a 404's fixed labels) are not a fold.
      if (bucket.some((value, i) => value !== values[i])) {
        folded = true;
        handle = this.find(bucket);
      }
      if (handle === undefined) {
        const reserved = this.find(this.allOther) === undefined ? 1 : 0;
        if (this.count + reserved < this.options.maxSeries) {
          handle = this.add(bucket);
        } else {
          folded = true;
          handle = this.find(this.allOther) ?? this.add(this.allOther);
        }
      }
    }
    this.lastFolded = folded;
    if (folded) this.options.onFold();
    return handle;
  }

  private add(values: readonly string[]): H {
    const labels: Record<string, string> = {};
    this.options.labelNames.forEach((name, i) => (labels[name] = values[i] as string));
    const handle = this.options.create(labels);
    let level = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const value = values[i] as string;
      let next = level.get(value) as Level | undefined;
      if (next === undefined) level.set(value, (next = new Map()));
      level = next;
    }
    level.set(values[last] as string, handle);
    this.count++;
    return handle;
  }
}

/**
 * Distinct values kept per group (event types per namespace and broker): at most `maxPerGroup`
 * values in each of at most `maxGroups` groups; the rest are reported as not admitted.
 */
export class BoundedValueSets {
  private readonly groups = new Map<string, Map<string, Set<string>>>();
  private groupCount = 0;

  constructor(
    private readonly maxGroups: number,
    private readonly maxPerGroup: number,
  ) {
    for (const [name, n] of [
      ['maxGroups', maxGroups],
      ['maxPerGroup', maxPerGroup],
    ] as const) {
      if (!Number.isInteger(n) || n < 1)
        throw new RangeError(`${name} ${n}: expected an integer of at least 1`);
    }
  }

  /** Whether `value` has, or now gets, a place in the group (`outer`, `inner`). */
  admit(outer: string, inner: string, value: string): boolean {
    let values = this.groups.get(outer)?.get(inner);
    if (values === undefined) {
      if (this.groupCount >= this.maxGroups) return false;
      let byInner = this.groups.get(outer);
      if (byInner === undefined) this.groups.set(outer, (byInner = new Map()));
      byInner.set(inner, (values = new Set()));
      this.groupCount++;
    }
    if (values.has(value)) return true;
    if (values.size >= this.maxPerGroup) return false;
    values.add(value);
    return true;
  }
}
