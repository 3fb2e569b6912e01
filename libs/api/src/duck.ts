import { X509Certificate } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { FieldError, indexPath, joinPath } from './errors';
import { isEnabled, type FeatureFlags } from './features';
import { parseIsoDuration } from './duration';
import { StringEnum } from './string-enum';

/** A reference to another Kubernetes object, as in Knative's duck `KReference`. */
export const KReferenceSchema = Type.Object(
  {
    kind: Type.String(),
    name: Type.String(),
    namespace: Type.Optional(Type.String()),
    apiVersion: Type.Optional(Type.String()),
    group: Type.Optional(Type.String()),
    address: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type KReference = Static<typeof KReferenceSchema>;

/** Where to send events: a ref resolved through the Addressable duck type, and/or a URI. */
export const DestinationSchema = Type.Object(
  {
    ref: Type.Optional(KReferenceSchema),
    uri: Type.Optional(Type.String()),
    CACerts: Type.Optional(Type.String()),
    audience: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type Destination = Static<typeof DestinationSchema>;

export const BackoffPolicySchema = StringEnum(['linear', 'exponential']);
export type BackoffPolicy = Static<typeof BackoffPolicySchema>;
export const DeliveryFormatSchema = StringEnum(['json', 'binary']);
export type DeliveryFormat = Static<typeof DeliveryFormatSchema>;

/** Retries, backoff, timeout and dead-lettering of one delivery. */
export const DeliverySpecSchema = Type.Object(
  {
    deadLetterSink: Type.Optional(DestinationSchema),
    retry: Type.Optional(Type.Integer({ format: 'int32' })),
    timeout: Type.Optional(Type.String()),
    backoffPolicy: Type.Optional(BackoffPolicySchema),
    backoffDelay: Type.Optional(Type.String()),
    retryAfterMax: Type.Optional(Type.String()),
    format: Type.Optional(DeliveryFormatSchema),
  },
  { additionalProperties: false },
);
export type DeliverySpec = Static<typeof DeliverySpecSchema>;

/** Resolved dead-letter sink, inlined in Broker/Trigger/Channel status. */
export const DeliveryStatusProperties = {
  deadLetterSinkUri: Type.Optional(Type.String()),
  deadLetterSinkCACerts: Type.Optional(Type.String()),
  deadLetterSinkAudience: Type.Optional(Type.String()),
};
export const DeliveryStatusSchema = Type.Object(DeliveryStatusProperties, { additionalProperties: false });
export type DeliveryStatus = Static<typeof DeliveryStatusSchema>;

/** A resolved address (`status.address`). */
export const AddressSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    url: Type.Optional(Type.String()),
    CACerts: Type.Optional(Type.String()),
    audience: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type Address = Static<typeof AddressSchema>;

/** The Addressable duck status fields. */
export const AddressableStatusProperties = {
  address: Type.Optional(AddressSchema),
  addresses: Type.Optional(Type.Array(AddressSchema)),
};

/** OIDC identity of the sender. */
export const AuthStatusSchema = Type.Object(
  {
    serviceAccountName: Type.Optional(Type.String()),
    serviceAccountNames: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);
export type AuthStatus = Static<typeof AuthStatusSchema>;

/** EventPolicies applying to a resource (`status.policies[]`). */
export const AppliedEventPolicySchema = Type.Object(
  { apiVersion: Type.Optional(Type.String()), name: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
export type AppliedEventPolicy = Static<typeof AppliedEventPolicySchema>;

/** CloudEvent extensions a source adds to every event it sends. */
export const CloudEventOverridesSchema = Type.Object(
  { extensions: Type.Optional(Type.Record(Type.String(), Type.String())) },
  { additionalProperties: false },
);
export type CloudEventOverrides = Static<typeof CloudEventOverridesSchema>;

/** The Source duck spec fields. */
export const SourceSpecProperties = {
  sink: DestinationSchema,
  ceOverrides: Type.Optional(CloudEventOverridesSchema),
};

export const CloudEventAttributesSchema = Type.Object(
  { type: Type.Optional(Type.String()), source: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
export type CloudEventAttributes = Static<typeof CloudEventAttributesSchema>;

/** The Source duck status fields. */
export const SourceStatusProperties = {
  sinkUri: Type.Optional(Type.String()),
  sinkCACerts: Type.Optional(Type.String()),
  sinkAudience: Type.Optional(Type.String()),
  ceAttributes: Type.Optional(Type.Array(CloudEventAttributesSchema)),
  auth: Type.Optional(AuthStatusSchema),
};

/** Context for validating duck types nested in a parent resource. */
export interface DuckContext {
  features?: Partial<FeatureFlags>;
  /** Namespace of the parent resource, for the namespace check of references. */
  parentNamespace?: string;
  /** When false, a reference naming another namespace than the parent's is rejected. */
  allowDifferentNamespace?: boolean;
}

/** Validates a KReference at `path`. */
export function validateKReference(ref: KReference, path: string, ctx: DuckContext = {}): FieldError[] {
  const errs: FieldError[] = [];
  if (!ref.name) errs.push(new FieldError(joinPath(path, 'name'), 'missing field(s)'));
  if (isEnabled(ctx.features, 'kreference-group')) {
    if (!ref.apiVersion && !ref.group) {
      errs.push(
        new FieldError(
          joinPath(path, 'apiVersion'),
          'missing field(s): one of apiVersion, group is required',
        ),
      );
    }
    if (ref.apiVersion && ref.group && !ref.apiVersion.startsWith(ref.group)) {
      errs.push(
        new FieldError(
          joinPath(path, 'group'),
          'both apiVersion and group are specified and they refer to different API groups',
        ),
      );
    }
  } else {
    if (ref.group)
      errs.push(
        new FieldError(
          joinPath(path, 'group'),
          'must not set the field(s) (feature kreference-group is disabled)',
        ),
      );
    if (!ref.apiVersion) errs.push(new FieldError(joinPath(path, 'apiVersion'), 'missing field(s)'));
  }
  if (!ref.kind) errs.push(new FieldError(joinPath(path, 'kind'), 'missing field(s)'));
  if (
    ref.namespace &&
    ctx.allowDifferentNamespace === false &&
    ctx.parentNamespace &&
    ref.namespace !== ctx.parentNamespace
  ) {
    errs.push(
      new FieldError(
        joinPath(path, 'namespace'),
        `mismatched namespaces: parent namespace "${ctx.parentNamespace}" does not match ref "${ref.namespace}"`,
      ),
    );
  }
  return errs;
}

/** Parses an absolute URL; undefined when the text is relative or not a URL. */
function parseAbsolute(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Checks that text holds a PEM CERTIFICATE block that parses as X.509; returns the problem or undefined. */
export function checkPemCertificate(text: string): string | undefined {
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text);
  if (begin === null) return 'CA Cert provided is invalid';
  if (begin[1] !== 'CERTIFICATE') return 'CA Cert provided is not a certificate';
  try {
    new X509Certificate(text.slice(begin.index));
    return undefined;
  } catch {
    return 'CA Cert provided is invalid';
  }
}

/** Validates a Destination at `path` (ref or uri; uri alone absolute; ref+uri ⇒ relative uri; CACerts PEM). */
export function validateDestination(dest: Destination, path: string, ctx: DuckContext = {}): FieldError[] {
  const errs: FieldError[] = [];
  const { ref, uri } = dest;
  if (ref === undefined && (uri === undefined || uri === '')) {
    return [new FieldError(path, 'expected at least one, got none: ref, uri')];
  }
  if (ref !== undefined && uri) {
    if (parseAbsolute(uri) !== undefined) {
      errs.push(new FieldError(joinPath(path, 'uri'), 'absolute URI is not allowed when ref is present'));
    }
  } else if (uri) {
    const url = parseAbsolute(uri);
    if (url === undefined || url.host === '') {
      errs.push(
        new FieldError(
          joinPath(path, 'uri'),
          `invalid value: ${uri}: relative URI is not allowed when ref is absent`,
        ),
      );
    }
  }
  if (ref !== undefined) errs.push(...validateKReference(ref, joinPath(path, 'ref'), ctx));
  if (dest.CACerts !== undefined) {
    const problem = checkPemCertificate(dest.CACerts);
    if (problem !== undefined)
      errs.push(new FieldError(joinPath(path, 'CACerts'), `invalid value: ${problem}`));
  }
  return errs;
}

/** Defaults a Destination: ref.namespace := the parent's namespace. Returns a new object. */
export function setDestinationDefaults(dest: Destination, namespace: string | undefined): Destination {
  if (dest.ref === undefined || dest.ref.namespace || !namespace) return dest;
  return { ...dest, ref: { ...dest.ref, namespace } };
}

/** Defaults a DeliverySpec (its dead-letter sink's ref namespace). Returns a new object. */
export function setDeliveryDefaults(delivery: DeliverySpec, namespace: string | undefined): DeliverySpec {
  if (delivery.deadLetterSink === undefined) return delivery;
  const dls = setDestinationDefaults(delivery.deadLetterSink, namespace);
  return dls === delivery.deadLetterSink ? delivery : { ...delivery, deadLetterSink: dls };
}

/** Validates a DeliverySpec at `path` (retry ≥ 0, enums, ISO-8601 durations, flag-gated fields). */
export function validateDeliverySpec(
  delivery: DeliverySpec,
  path: string,
  ctx: DuckContext = {},
): FieldError[] {
  const errs: FieldError[] = [];
  if (delivery.deadLetterSink !== undefined) {
    errs.push(...validateDestination(delivery.deadLetterSink, joinPath(path, 'deadLetterSink'), ctx));
  }
  if (delivery.retry !== undefined && delivery.retry < 0) {
    errs.push(new FieldError(joinPath(path, 'retry'), `invalid value: ${delivery.retry}: must be >= 0`));
  }
  if (delivery.timeout !== undefined) {
    if (isEnabled(ctx.features, 'delivery-timeout')) {
      const ms = parseIsoDuration(delivery.timeout);
      if (ms === undefined || ms <= 0) {
        errs.push(
          new FieldError(
            joinPath(path, 'timeout'),
            `invalid value: ${delivery.timeout}: must be a positive ISO-8601 duration`,
          ),
        );
      }
    } else {
      errs.push(
        new FieldError(
          joinPath(path, 'timeout'),
          'must not set the field(s) (feature delivery-timeout is disabled)',
        ),
      );
    }
  }
  if (
    delivery.backoffPolicy !== undefined &&
    delivery.backoffPolicy !== 'linear' &&
    delivery.backoffPolicy !== 'exponential'
  ) {
    errs.push(
      new FieldError(
        joinPath(path, 'backoffPolicy'),
        `invalid value: ${String(delivery.backoffPolicy)}: must be linear or exponential`,
      ),
    );
  }
  if (delivery.backoffDelay !== undefined && parseIsoDuration(delivery.backoffDelay) === undefined) {
    errs.push(
      new FieldError(
        joinPath(path, 'backoffDelay'),
        `invalid value: ${delivery.backoffDelay}: must be an ISO-8601 duration`,
      ),
    );
  }
  if (delivery.format !== undefined && delivery.format !== 'json' && delivery.format !== 'binary') {
    errs.push(
      new FieldError(
        joinPath(path, 'format'),
        `invalid value: ${String(delivery.format)}: must be json or binary`,
      ),
    );
  }
  if (delivery.retryAfterMax !== undefined) {
    if (isEnabled(ctx.features, 'delivery-retryafter')) {
      const ms = parseIsoDuration(delivery.retryAfterMax);
      if (ms === undefined || ms < 0) {
        errs.push(
          new FieldError(
            joinPath(path, 'retryAfterMax'),
            `invalid value: ${delivery.retryAfterMax}: must be a non-negative ISO-8601 duration`,
          ),
        );
      }
    } else {
      errs.push(
        new FieldError(
          joinPath(path, 'retryAfterMax'),
          'must not set the field(s) (feature delivery-retryafter is disabled)',
        ),
      );
    }
  }
  return errs;
}

/** CloudEvents context attributes a source may not override through ceOverrides. */
const REQUIRED_ATTRIBUTES = new Set(['id', 'source', 'specversion', 'type']);
const EXTENSION_NAME = /^[a-z0-9]+$/;

/** Validates `ceOverrides` at `path`: extension names non-empty lower-case alphanumeric, not a required attribute. */
export function validateCeOverrides(overrides: CloudEventOverrides, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of Object.keys(overrides.extensions ?? {})) {
    const at = indexPath(joinPath(path, 'extensions'), key);
    if (key === '') errs.push(new FieldError(at, 'invalid key name "": keys MUST NOT be empty'));
    else if (!EXTENSION_NAME.test(key))
      errs.push(new FieldError(at, `invalid key name "${key}": keys must be lower-case alphanumeric`));
    else if (REQUIRED_ATTRIBUTES.has(key))
      errs.push(new FieldError(at, `invalid key name "${key}": may not override a required attribute`));
  }
  return errs;
}
