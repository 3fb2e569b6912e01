import {
  SINK_BINDING_FINALIZER,
  SinkBindingConditionSet,
  matchesLabelSelector,
  type SinkBinding,
} from '@eventing/api';
import {
  JSON_PATCH,
  KubeApiError,
  ListWatch,
  objectPath,
  type KubeClient,
  type KubeKind,
  type KubeObject,
} from '@eventing/kube';
import type { Logger } from '@eventing/runtime';
import { createJsonPatch, jsonEqual } from '../admission/json-patch';
import {
  BindingIndex,
  applyBindings,
  bindingSelects,
  sinkEnvOf,
  subjectKindOf,
  type SubjectKind,
  type SubjectObject,
} from './binding-index';

const SINK_BINDINGS: KubeKind = {
  group: 'sources.knative.dev',
  version: 'v1',
  kind: 'SinkBinding',
  plural: 'sinkbindings',
  namespaced: true,
};

export interface SinkBindingBinderOptions {
  client: KubeClient;
  log: Logger;
  /** Whether this replica writes (patches subjects, finalizers, status); every replica admits. Default: always. */
  leading?: () => boolean;
  /** Called when the kinds bindings name change (the webhook's rules follow them). */
  onKindsChanged?: (kinds: SubjectKind[]) => void;
  /** Delay before a binding whose write conflicted is tried again. Default 200 ms. */
  retryDelayMs?: number;
}

/** How binding one SinkBinding's subjects went. */
type Outcome = { ok: true } | { ok: false; reason: string; message: string; retry: boolean };

/**
 * The SinkBinding reconciler of the webhook process, as upstream runs its binding controller next to
 * its binding webhook: it follows every SinkBinding (the admission path reads the same index), and for
 * each one patches the subjects that already exist — their pod templates get K_SINK, K_CE_OVERRIDES
 * and K_CA_CERTS once the controller resolved the sink — then says so in SinkBindingAvailable. Its
 * finalizer lets a deleted binding be undone from its subjects before it goes.
 */
export class SinkBindingBinder {
  readonly index = new BindingIndex();
  private readonly bindings: ListWatch;
  private readonly subjects = new Map<string, ListWatch>();
  private readonly queued = new Set<string>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private working: Promise<void> | undefined;
  private kindsKey = '';
  private stopped = false;

  constructor(private readonly options: SinkBindingBinderOptions) {
    this.bindings = new ListWatch(options.client, SINK_BINDINGS, (e) => this.onBinding(e.type, e.object), {
      logger: options.log,
    });
  }

  /** Starts following SinkBindings; resolves once they are all listed. */
  async start(): Promise<void> {
    this.bindings.start();
    await this.bindings.synced();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    await Promise.all([this.bindings.stop(), ...[...this.subjects.values()].map((s) => s.stop())]);
    await this.working;
  }

  /** Reconciles every binding again (after leadership was won). */
  resyncAll(): void {
    for (const b of this.index.all()) this.enqueue(keyOf(b));
  }

  /** Resolves once nothing is queued or being worked on. */
  async idle(): Promise<void> {
    while (this.working !== undefined) await this.working;
  }

  private onBinding(type: 'upsert' | 'delete', object: KubeObject): void {
    const binding = object as unknown as SinkBinding;
    if (type === 'delete') this.index.delete(binding);
    else {
      this.index.set(binding);
      this.watchSubjects(subjectKindOf(binding));
    }
    this.kindsChanged();
    this.enqueue(keyOf(binding));
  }

  private kindsChanged(): void {
    const kinds = this.index.subjectKinds();
    const key = JSON.stringify(kinds);
    if (key === this.kindsKey) return;
    this.kindsKey = key;
    this.options.onKindsChanged?.(kinds);
  }

  /** The cache of one subject kind, watched from the first binding that names it. */
  private watchSubjects(kind: SubjectKind): ListWatch {
    const id = `${kind.group}/${kind.version}/${kind.kind}`;
    let loop = this.subjects.get(id);
    if (loop === undefined) {
      const target = {
        group: kind.group,
        version: kind.version,
        kind: kind.kind,
        plural: kind.plural,
        namespaced: true,
      };
      loop = new ListWatch(this.options.client, target, (e) => this.onSubject(kind, e.object), {
        logger: this.options.log,
      });
      this.subjects.set(id, loop);
      if (!this.stopped) loop.start();
    }
    return loop;
  }

  /** A subject changed: the bindings that select it say again whether they are applied. */
  private onSubject(kind: SubjectKind, object: KubeObject): void {
    for (const b of this.index.selecting(kind.group, object as SubjectObject)) this.enqueue(keyOf(b));
  }

  private enqueue(key: string): void {
    if (this.stopped) return;
    this.queued.add(key);
    this.working ??= this.work().finally(() => (this.working = undefined));
  }

  private enqueueLater(key: string): void {
    if (this.stopped || this.retries.has(key)) return;
    const timer = setTimeout(() => {
      this.retries.delete(key);
      this.enqueue(key);
    }, this.options.retryDelayMs ?? 200);
    timer.unref();
    this.retries.set(key, timer);
  }

  private async work(): Promise<void> {
    while (this.queued.size > 0 && !this.stopped) {
      const key = this.queued.values().next().value as string;
      this.queued.delete(key);
      try {
        await this.reconcile(key);
      } catch (err) {
        this.options.log.error(
          { sinkBinding: key, error: (err as Error).message },
          'sinkbinding reconcile failed',
        );
        this.enqueueLater(key);
      }
    }
  }

  private async reconcile(key: string): Promise<void> {
    if (this.options.leading?.() === false) return;
    const slash = key.indexOf('/');
    const binding = this.bindings.get(key.slice(0, slash), key.slice(slash + 1)) as SinkBinding | undefined;
    if (binding === undefined) return;
    const finalizers = binding.metadata.finalizers ?? [];
    if (binding.metadata.deletionTimestamp) {
      if (!finalizers.includes(SINK_BINDING_FINALIZER)) return;
      const undone = await this.bindSubjects(binding);
      if (!undone.ok && undone.retry) return this.enqueueLater(key);
      await this.setFinalizer(binding, false);
      return;
    }
    if (!finalizers.includes(SINK_BINDING_FINALIZER)) {
      // The watch brings the binding back with its finalizer, and it is reconciled then.
      await this.setFinalizer(binding, true);
      return;
    }
    if (sinkEnvOf(binding) === undefined) return; // The controller has not resolved the sink yet.
    const outcome = await this.bindSubjects(binding);
    if (!outcome.ok && outcome.retry) this.enqueueLater(key);
    await this.writeAvailability(binding, outcome);
  }

  /** Applies the binding (Do, or Undo while it is being deleted) to each of its subjects that exists. */
  private async bindSubjects(binding: SinkBinding): Promise<Outcome> {
    const kind = subjectKindOf(binding);
    const cache = this.watchSubjects(kind);
    const subject = binding.spec.subject;
    const namespace = subject.namespace ?? binding.metadata.namespace ?? '';
    const what = `${kind.kind} ${kind.plural}${kind.group ? '.' + kind.group : ''}`;
    if (!cache.hasSynced)
      return {
        ok: false,
        reason: 'SubjectUnavailable',
        message: `${what} not listed yet${cache.lastError ? `: ${cache.lastError}` : ''}`,
        retry: true,
      };
    const subjects: SubjectObject[] = [];
    if (subject.name) {
      const found = cache.get(namespace, subject.name) as SubjectObject | undefined;
      if (found === undefined)
        return binding.metadata.deletionTimestamp
          ? { ok: true }
          : {
              ok: false,
              reason: 'SubjectMissing',
              message: `${kind.kind} ${namespace}/${subject.name} not found`,
              retry: false,
            };
      subjects.push(found);
    } else {
      for (const o of cache.values()) {
        const candidate = o as SubjectObject;
        if (candidate.metadata?.namespace !== namespace) continue;
        if (!matchesLabelSelector(subject.selector, candidate.metadata?.labels)) continue;
        subjects.push(candidate);
      }
    }
    for (const object of subjects) {
      if (!bindingSelects(binding, kind.group, object)) continue;
      const mutated = applyBindings([binding], kind.group, object);
      if (mutated === undefined) continue;
      const result = await this.patchSubject(kind, object, mutated);
      if (result !== 'ok') return result;
    }
    return { ok: true };
  }

  private async patchSubject(
    kind: SubjectKind,
    object: SubjectObject,
    mutated: SubjectObject,
  ): Promise<'ok' | Outcome> {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    const path = objectPath({ ...kind, namespaced: true }, namespace, name);
    // Applies only to the copy it was computed from: anything newer is a conflict, tried again.
    const patch = [
      { op: 'test', path: '/metadata/resourceVersion', value: object.metadata?.resourceVersion },
      ...createJsonPatch(object.spec, mutated.spec, '/spec'),
    ];
    const answer = await this.options.client.request('PATCH', path, {
      purpose: 'write',
      contentType: JSON_PATCH,
      body: patch,
    });
    if (answer.status === 200 || answer.status === 404) return 'ok';
    if (answer.status === 409 || answer.status === 422)
      return {
        ok: false,
        reason: 'BindingFailed',
        message: `${kind.kind} ${namespace}/${name} changed meanwhile`,
        retry: true,
      };
    const error = KubeApiError.of('PATCH', path, answer);
    return {
      ok: false,
      reason: 'BindingFailed',
      message: `failed binding subject ${name}: ${error.message}`,
      retry: true,
    };
  }

  private async setFinalizer(binding: SinkBinding, present: boolean): Promise<void> {
    const seen = binding.metadata.finalizers ?? [];
    const next = present
      ? [...seen, SINK_BINDING_FINALIZER]
      : seen.filter((f) => f !== SINK_BINDING_FINALIZER);
    const ops: object[] = [
      { op: 'test', path: '/metadata/resourceVersion', value: binding.metadata.resourceVersion },
    ];
    ops.push(
      next.length === 0
        ? { op: 'remove', path: '/metadata/finalizers' }
        : { op: 'add', path: '/metadata/finalizers', value: next },
    );
    const path = objectPath(SINK_BINDINGS, binding.metadata.namespace ?? '', binding.metadata.name ?? '');
    const answer = await this.options.client.request('PATCH', path, {
      purpose: 'write',
      contentType: JSON_PATCH,
      body: ops,
    });
    if (answer.status === 200 || answer.status === 404) return;
    if (answer.status === 409 || answer.status === 422) return this.enqueueLater(keyOf(binding));
    throw KubeApiError.of('PATCH', path, answer);
  }

  /** Writes SinkBindingAvailable (and so Ready) when it changes; the rest of the status is the controller's. */
  private async writeAvailability(binding: SinkBinding, outcome: Outcome): Promise<void> {
    const set = SinkBindingConditionSet;
    const current = binding.status?.conditions ?? [];
    const conditions = outcome.ok
      ? set.markTrue(set.initialize(current), 'SinkBindingAvailable')
      : set.markFalse(set.initialize(current), 'SinkBindingAvailable', outcome.reason, outcome.message);
    const before = set.get(current, 'SinkBindingAvailable');
    const after = set.get(conditions, 'SinkBindingAvailable');
    if (
      before !== undefined &&
      jsonEqual({ ...before, lastTransitionTime: '' }, { ...after, lastTransitionTime: '' })
    )
      return;
    const namespace = binding.metadata.namespace ?? '';
    const name = binding.metadata.name ?? '';
    const path = objectPath(SINK_BINDINGS, namespace, name, 'status');
    const answer = await this.options.client.request('PUT', path, {
      purpose: 'write',
      body: {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'SinkBinding',
        metadata: {
          name,
          namespace,
          uid: binding.metadata.uid,
          resourceVersion: binding.metadata.resourceVersion,
        },
        status: { ...binding.status, conditions },
      },
    });
    if (answer.status === 200 || answer.status === 404) return;
    if (answer.status === 409) return this.enqueueLater(keyOf(binding));
    throw KubeApiError.of('PUT', path, answer);
  }
}

function keyOf(binding: { metadata: { namespace?: string; name?: string } }): string {
  return `${binding.metadata.namespace ?? ''}/${binding.metadata.name ?? ''}`;
}
