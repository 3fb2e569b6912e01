import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './string-enum';

/** A status condition, as in Knative's duck `Conditions`. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({ description: 'What this condition is about, e.g. Ready or Addressable.' }),
    status: StringEnum(['True', 'False', 'Unknown'], {
      description: 'Whether the condition holds: True, False, or Unknown while it is not known yet.',
    }),
    reason: Type.Optional(
      Type.String({ description: 'A one-word CamelCase reason for the last change of status.' }),
    ),
    message: Type.Optional(
      Type.String({ description: 'What happened, in words, and often what to do about it.' }),
    ),
    severity: Type.Optional(
      StringEnum(['', 'Error', 'Warning', 'Info'], {
        description:
          'How much a False condition matters: Error (empty means Error) makes the resource not Ready; Warning and Info are only reported.',
      }),
    ),
    lastTransitionTime: Type.Optional(
      Type.String({ description: 'When status last changed, as an RFC 3339 time.' }),
    ),
  },
  { additionalProperties: false },
);
export type Condition = Static<typeof ConditionSchema>;
export type ConditionStatus = Condition['status'];

/** The status fields every resource carries. */
export const StatusBaseProperties = {
  observedGeneration: Type.Optional(
    Type.Integer({
      format: 'int64',
      description:
        'The metadata.generation this status describes; when it is behind, the controller has not yet acted on the latest change.',
    }),
  ),
  conditions: Type.Optional(
    Type.Array(ConditionSchema, {
      description:
        'The latest observations of the state of this resource. The Ready condition sums them up: True when every condition it depends on is True.',
    }),
  ),
  annotations: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: 'Extra state the controller reports about this resource, as string key-value pairs.',
    }),
  ),
};

/**
 * A "living" condition set: the ready condition is the AND of the dependents.
 * Every method returns a new array (sorted by type) and never mutates its input; a
 * condition's lastTransitionTime changes only when its status changes.
 */
export class ConditionSet {
  constructor(
    readonly ready: string,
    readonly dependents: readonly string[],
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Every condition type this set manages, ready first. */
  get types(): string[] {
    return [this.ready, ...this.dependents];
  }

  /** Adds the ready condition and every dependent as Unknown when absent (keeps existing ones). */
  initialize(conds: readonly Condition[] = []): Condition[] {
    let out = [...conds];
    const time = this.now().toISOString();
    for (const type of this.types) {
      if (!out.some((c) => c.type === type)) out.push({ type, status: 'Unknown', lastTransitionTime: time });
    }
    // A dependent already True does not make ready True until all are; recompute.
    out = this.recompute(out, time);
    return sortByType(out);
  }

  /** Marks a condition True; ready becomes True when all dependents are True. */
  markTrue(conds: readonly Condition[], type: string, reason?: string, message?: string): Condition[] {
    return this.set(conds, type, 'True', reason, message);
  }

  /** Marks a condition False; a False dependent makes ready False with the same reason and message. */
  markFalse(conds: readonly Condition[], type: string, reason: string, message: string): Condition[] {
    return this.set(conds, type, 'False', reason, message);
  }

  /** Marks a condition Unknown; ready becomes Unknown unless another dependent is False. */
  markUnknown(conds: readonly Condition[], type: string, reason: string, message: string): Condition[] {
    return this.set(conds, type, 'Unknown', reason, message);
  }

  /** Finds a condition by type. */
  get(conds: readonly Condition[] | undefined, type: string): Condition | undefined {
    return conds?.find((c) => c.type === type);
  }

  /** True when the ready condition is True. */
  isReady(conds: readonly Condition[] | undefined): boolean {
    return this.get(conds, this.ready)?.status === 'True';
  }

  private set(
    conds: readonly Condition[],
    type: string,
    status: ConditionStatus,
    reason?: string,
    message?: string,
  ): Condition[] {
    const time = this.now().toISOString();
    let out = upsert(conds, this.build(conds, type, status, reason, message, time));
    if (type !== this.ready && this.dependents.includes(type)) out = this.recompute(out, time);
    return sortByType(out);
  }

  private build(
    conds: readonly Condition[],
    type: string,
    status: ConditionStatus,
    reason: string | undefined,
    message: string | undefined,
    time: string,
  ): Condition {
    const previous = conds.find((c) => c.type === type);
    const next: Condition = { type, status };
    if (reason) next.reason = reason;
    if (message) next.message = message;
    // Conditions outside the dependents are informational and do not affect readiness.
    if (type !== this.ready && !this.dependents.includes(type)) next.severity = 'Info';
    next.lastTransitionTime =
      previous !== undefined && previous.status === status && previous.lastTransitionTime !== undefined
        ? previous.lastTransitionTime
        : time;
    return next;
  }

  private recompute(conds: Condition[], time: string): Condition[] {
    const deps = this.dependents.map((d) => conds.find((c) => c.type === d));
    const failed = deps.find((c) => c?.status === 'False');
    let ready: Condition;
    if (failed !== undefined) {
      ready = this.build(conds, this.ready, 'False', failed.reason, failed.message, time);
    } else if (deps.every((c) => c?.status === 'True')) {
      ready = this.build(conds, this.ready, 'True', undefined, undefined, time);
    } else {
      const unknown = deps.find((c) => c === undefined || c.status === 'Unknown');
      ready = this.build(conds, this.ready, 'Unknown', unknown?.reason, unknown?.message, time);
    }
    return upsert(conds, ready);
  }
}

/**
 * `next` with the lastTransitionTime of each condition whose status is the same in `stored` taken
 * from `stored`: a status computed afresh over several steps (a condition marked True, then False by
 * a later step) changes its time only when it changes from what is stored. Returns `next` itself
 * when nothing is carried over.
 */
export function keepTransitionTimes(
  next: readonly Condition[] | undefined,
  stored: readonly Condition[] | undefined,
): Condition[] | undefined {
  if (next === undefined || stored === undefined || stored.length === 0)
    return next as Condition[] | undefined;
  let out: Condition[] | undefined;
  next.forEach((c, i) => {
    const before = stored.find((s) => s.type === c.type);
    if (
      before?.lastTransitionTime === undefined ||
      before.status !== c.status ||
      before.lastTransitionTime === c.lastTransitionTime
    )
      return;
    out ??= [...next];
    out[i] = { ...c, lastTransitionTime: before.lastTransitionTime };
  });
  return out ?? (next as Condition[]);
}

function upsert(conds: readonly Condition[], next: Condition): Condition[] {
  const out = conds.filter((c) => c.type !== next.type);
  out.push(next);
  return out;
}

function sortByType(conds: Condition[]): Condition[] {
  return conds.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}
