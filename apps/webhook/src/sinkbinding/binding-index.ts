import { guessResource, splitApiVersion, type SinkBinding } from '@eventing/api';
import { bindingSelects, type SubjectObject } from '@eventing/reconciler';

export { applyBindings, bindingSelects, sinkEnvOf, type SubjectObject } from '@eventing/reconciler';

/** The kind of a subject: what the webhook's rules and the subject watches are made of. */
export interface SubjectKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
}

/** The kind a binding's subject names. */
export function subjectKindOf(binding: SinkBinding): SubjectKind {
  const { group, version } = splitApiVersion(binding.spec.subject.apiVersion);
  const kind = binding.spec.subject.kind;
  return { group, version, kind, plural: guessResource(kind) };
}

const keyOfBinding = (b: SinkBinding) => `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;

/**
 * Every SinkBinding, by namespace, for the admission path: which bindings select an object under
 * review. Kept by the binder's watch of SinkBindings.
 */
export class BindingIndex {
  private readonly byKey = new Map<string, SinkBinding>();
  private readonly byNamespace = new Map<string, Set<string>>();

  set(binding: SinkBinding): void {
    this.delete(binding);
    const key = keyOfBinding(binding);
    this.byKey.set(key, binding);
    const ns = binding.spec.subject.namespace ?? binding.metadata.namespace ?? '';
    let keys = this.byNamespace.get(ns);
    if (keys === undefined) this.byNamespace.set(ns, (keys = new Set()));
    keys.add(key);
  }

  delete(binding: { metadata: { namespace?: string; name?: string } }): void {
    const key = `${binding.metadata.namespace ?? ''}/${binding.metadata.name ?? ''}`;
    const previous = this.byKey.get(key);
    if (previous === undefined) return;
    this.byKey.delete(key);
    const ns = previous.spec.subject.namespace ?? previous.metadata.namespace ?? '';
    const keys = this.byNamespace.get(ns);
    keys?.delete(key);
    if (keys?.size === 0) this.byNamespace.delete(ns);
  }

  get(namespace: string, name: string): SinkBinding | undefined {
    return this.byKey.get(`${namespace}/${name}`);
  }

  all(): SinkBinding[] {
    return [...this.byKey.values()];
  }

  /** The bindings of a namespace that select the object, sorted by name. */
  selecting(group: string, object: SubjectObject): SinkBinding[] {
    const keys = this.byNamespace.get(object.metadata?.namespace ?? '');
    if (keys === undefined) return [];
    const out: SinkBinding[] = [];
    for (const key of keys) {
      const b = this.byKey.get(key);
      if (b !== undefined && bindingSelects(b, group, object)) out.push(b);
    }
    return out.sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  }

  /** The subject kinds bindings name, sorted (the webhook's rules). */
  subjectKinds(): SubjectKind[] {
    const seen = new Map<string, SubjectKind>();
    for (const b of this.byKey.values()) {
      const k = subjectKindOf(b);
      seen.set(`${k.group}/${k.version}/${k.kind}`, k);
    }
    return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);
  }
}
