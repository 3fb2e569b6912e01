import {
  admitResource,
  allKinds,
  normalizeResource,
  registerCesqlValidator,
  type FieldError,
  type KindDefinition,
  type Resource,
} from '@eventing/api';
import { cesqlSyntaxError } from '@eventing/filters';
import type { AdmissionConfig } from '../config/admission-config';
import { createJsonPatch, jsonEqual } from './json-patch';
import { formatUpstreamStyle } from './messages';
import { refuse, type AdmissionRequest, type AdmissionResponse } from './review';

/** Suffixes of the annotations naming who created and who last changed a resource's spec (upstream's). */
export const CREATOR_ANNOTATION_SUFFIX = '/creator';
export const LAST_MODIFIER_ANNOTATION_SUFFIX = '/lastModifier';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `<group>/<version>/<kind>`: how a request's kind is looked up. */
export function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

interface Served {
  definition: KindDefinition;
  /** The same kind with validation left out: admission up to and including defaulting. */
  defaultsOnly: KindDefinition;
}

const noValidation = (): FieldError[] => [];

/**
 * The admission decisions for every kind of `kinds` (all kinds of the API by default): `defaulting`
 * answers the mutating webhook with a JSON Patch to the defaulted object, `validation` the validating
 * webhook. Both are plain synchronous functions of the request and the current configuration
 * snapshot; nothing is looked up per request but the kind, in a table built once.
 */
export class AdmissionHandler {
  private readonly served = new Map<string, Served>();

  constructor(
    private readonly config: () => AdmissionConfig,
    kinds: readonly KindDefinition[] = allKinds,
  ) {
    // Trigger filters are refused when their CESQL does not parse (CONFORMANCE 1.3, 3.3), with the parser
    // the data plane runs.
    registerCesqlValidator(cesqlSyntaxError);
    for (const definition of kinds) {
      const served = { definition, defaultsOnly: { ...definition, validate: noValidation } };
      for (const version of definition.versions)
        this.served.set(gvkKey(definition.group, version, definition.kind), served);
    }
  }

  /** Whether requests for this group/version/kind are answered (every served version of every kind). */
  serves(group: string, version: string, kind: string): boolean {
    return this.served.has(gvkKey(group, version, kind));
  }

  /** The mutating webhook: defaults of the kind (and who created or changed it) as a JSON Patch. */
  defaulting(req: AdmissionRequest): AdmissionResponse {
    const uid = req.uid;
    // Only creates and updates of the resource itself carry something to default.
    if ((req.operation !== 'CREATE' && req.operation !== 'UPDATE') || req.subResource)
      return { uid, allowed: true };
    const served = this.lookup(req);
    if (served === undefined) return refuse(uid, `mutation failed: ${unhandled(req)}`);
    if (!isObject(req.object)) return refuse(uid, 'mutation failed: the new object may not be nil');
    const ctx = { defaults: this.config().defaults };
    const base = withNamespace(req.object, req.namespace);
    const admitted = admitResource(served.defaultsOnly, base, ctx);
    if (!admitted.ok)
      return refuse(
        uid,
        `mutation failed: cannot decode incoming new object: ${formatUpstreamStyle(admitted.errors)}`,
      );
    const defaulted = admitted.resource as unknown as Json;
    // The status is the status subresource's business: keep whatever the request carries.
    if (Object.hasOwn(base, 'status')) defaulted['status'] = base['status'];
    const username = req.userInfo?.username;
    if (username) {
      let oldSpec: unknown;
      if (req.operation === 'UPDATE') {
        const old = this.defaultedOld(served, req);
        oldSpec = old?.['spec'];
      }
      stampUser(defaulted, req.kind.group, username, req.operation === 'UPDATE', oldSpec);
    }
    const ops = createJsonPatch(base, defaulted);
    if (ops.length === 0) return { uid, allowed: true };
    return {
      uid,
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
    };
  }

  /** The validating webhook: the kind's validation, and on update its immutable fields. */
  validation(req: AdmissionRequest): AdmissionResponse {
    const uid = req.uid;
    if ((req.operation !== 'CREATE' && req.operation !== 'UPDATE') || req.subResource)
      return { uid, allowed: true };
    const served = this.lookup(req);
    if (served === undefined) return refuse(uid, `validation failed: ${unhandled(req)}`);
    if (!isObject(req.object)) return refuse(uid, 'validation failed: the new object may not be nil');
    const object = normalizeResource(served.definition, withNamespace(req.object, req.namespace));
    let original: Json | undefined;
    if (req.operation === 'UPDATE') {
      // An object on its way out must be able to shed its finalizers whatever else is wrong with it.
      if (
        isDeleting(object) &&
        isObject(req.oldObject) &&
        jsonEqual(specOf(normalizeResource(served.definition, req.oldObject)), specOf(object))
      )
        return { uid, allowed: true };
      original = this.defaultedOld(served, req);
    }
    const validation = { ...this.config().validation };
    const ctx = original === undefined ? validation : { ...validation, original };
    const username = req.userInfo?.username;
    const errors = served.definition.validate(object, username ? { ...ctx, user: username } : ctx);
    if (errors.length > 0) return refuse(uid, `validation failed: ${formatUpstreamStyle(errors)}`);
    return { uid, allowed: true };
  }

  private lookup(req: AdmissionRequest): Served | undefined {
    return this.served.get(gvkKey(req.kind.group, req.kind.version, req.kind.kind));
  }

  /**
   * The stored object as it would be defaulted now, so that an update is not refused for a default
   * this webhook adds (a Broker stored before the webhook ran has no `spec.config` yet).
   */
  private defaultedOld(served: Served, req: AdmissionRequest): Json | undefined {
    if (!isObject(req.oldObject)) return undefined;
    const old = withNamespace(req.oldObject, req.namespace);
    const admitted = admitResource(served.defaultsOnly, old, { defaults: this.config().defaults });
    if (admitted.ok) return admitted.resource as unknown as Json;
    const normalized = normalizeResource(served.definition, old);
    return isObject(normalized) ? normalized : undefined;
  }
}

function unhandled(req: AdmissionRequest): string {
  const { group, version, kind } = req.kind;
  return `unhandled kind: ${group}/${version}, Kind=${kind}`;
}

/** The object with `metadata.namespace` set from the request when it has none (a copy only then). */
function withNamespace(obj: Json, namespace: string | undefined): Json {
  const metadata = obj['metadata'];
  if (!namespace || !isObject(metadata) || metadata['namespace']) return obj;
  return { ...obj, metadata: { ...metadata, namespace } };
}

function specOf(obj: unknown): unknown {
  return isObject(obj) ? obj['spec'] : undefined;
}

function isDeleting(obj: unknown): boolean {
  const metadata = isObject(obj) ? obj['metadata'] : undefined;
  return isObject(metadata) && typeof metadata['deletionTimestamp'] === 'string';
}

/**
 * Records the requesting user as upstream's defaulting webhook does: `<group>/creator` and
 * `<group>/lastModifier` on create, `<group>/lastModifier` on an update that changes the spec.
 */
function stampUser(obj: Json, group: string, username: string, update: boolean, oldSpec: unknown): void {
  if (update && jsonEqual(oldSpec, obj['spec'])) return;
  const metadata = (obj['metadata'] ?? {}) as Resource['metadata'];
  const annotations = { ...(metadata.annotations ?? {}) };
  // The core group has no name: the bare `creator` / `lastModifier`, as upstream.
  const creator = group === '' ? CREATOR_ANNOTATION_SUFFIX.slice(1) : group + CREATOR_ANNOTATION_SUFFIX;
  const modifier =
    group === '' ? LAST_MODIFIER_ANNOTATION_SUFFIX.slice(1) : group + LAST_MODIFIER_ANNOTATION_SUFFIX;
  if (!update) annotations[creator] = username;
  annotations[modifier] = username;
  obj['metadata'] = { ...metadata, annotations };
}
