import { X509Certificate } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { FieldError, indexPath, joinPath } from './errors';
import { isEnabled, type FeatureFlags } from './features';
import { parseIsoDuration } from './duration';
import { described } from './describe';
import { StringEnum } from './string-enum';

/** A reference to another Kubernetes object, as in Knative's duck `KReference`. */
export const KReferenceSchema = Type.Object(
  {
    kind: Type.String({
      description: 'Kind of the object referred to, in CamelCase, e.g. Broker, InMemoryChannel or Service.',
    }),
    name: Type.String({ description: 'Name of the object referred to.' }),
    namespace: Type.Optional(
      Type.String({
        description:
          'Namespace of the object referred to. Left out, it is the namespace of the resource that holds this reference. Another namespace is accepted only where cross-namespace references are allowed.',
      }),
    ),
    apiVersion: Type.Optional(
      Type.String({
        description:
          'API group and version of the object referred to, e.g. eventing.knative.dev/v1, or v1 for core kinds. Required unless the kreference-group feature is enabled and group is given.',
      }),
    ),
    group: Type.Optional(
      Type.String({
        description:
          'API group of the object referred to, in place of apiVersion; the version is looked up from the cluster. Accepted only when the kreference-group feature is enabled; when both are given they must name the same group.',
      }),
    ),
    address: Type.Optional(
      Type.String({
        description:
          "Name of one entry of the referred object's status.addresses to use instead of its default address.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type KReference = Static<typeof KReferenceSchema>;

/** Where to send events: a ref resolved through the Addressable duck type, and/or a URI. */
export const DestinationSchema = Type.Object(
  {
    ref: Type.Optional(
      described(
        KReferenceSchema,
        'An object to send events to: an Addressable (its status.address.url is used), a Kubernetes Service or a Knative Service. Give ref, uri, or both.',
      ),
    ),
    uri: Type.Optional(
      Type.String({
        description:
          'Where to send events. Alone, an absolute URL (scheme and host). With ref, a relative reference (for example a path) resolved against the address of ref.',
      }),
    ),
    CACerts: Type.Optional(
      Type.String({
        description:
          'PEM-encoded CA certificates to trust when sending events to this destination over HTTPS, on top of the system roots.',
      }),
    ),
    audience: Type.Optional(
      Type.String({
        description:
          'OIDC audience of the tokens sent with events to this destination. Needed only when the destination does not publish its own audience (a plain URI, or a ref that is not Addressable); when set, it wins over the one it publishes.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Destination = Static<typeof DestinationSchema>;

export const BackoffPolicySchema = StringEnum(['linear', 'exponential'], {
  description:
    'How the wait between retries grows: linear waits backoffDelay times the retry number, exponential waits backoffDelay times 2 to the power of (retry number - 1). One of linear, exponential; exponential when unset.',
});
export type BackoffPolicy = Static<typeof BackoffPolicySchema>;
export const DeliveryFormatSchema = StringEnum(['json', 'binary'], {
  description:
    'How events are written into the HTTP request sent to the destination: json for the structured mode (the whole event as a JSON body), binary for the binary mode (attributes as ce- headers, data as the body). One of json, binary; binary when unset.',
});
export type DeliveryFormat = Static<typeof DeliveryFormatSchema>;

/** Retries, backoff, timeout and dead-lettering of one delivery. */
export const DeliverySpecSchema = Type.Object(
  {
    deadLetterSink: Type.Optional(
      described(
        DestinationSchema,
        'Where an event goes once every attempt to deliver it failed, or when the destination refused it with a status that is not retried. The event is sent unchanged plus the extensions knativeerrordest (the failing destination), knativeerrorcode (its last HTTP status) and knativeerrordata (the start of its response body, in base64). Without a dead-letter sink such an event is dropped and counted.',
      ),
    ),
    retry: Type.Optional(
      Type.Integer({
        format: 'int32',
        description:
          'How many times a failed delivery is tried again before the event goes to the dead-letter sink; 0 or more. Unset means one attempt and no retry (a Broker takes the default of config-br-defaults when it sets no delivery).',
      }),
    ),
    timeout: Type.Optional(
      Type.String({
        description:
          'How long each delivery attempt may take, as a positive ISO-8601 duration such as PT10S; an attempt that takes longer counts as failed and is retried. Unset: no limit of its own. Needs the delivery-timeout feature, enabled by default.',
      }),
    ),
    backoffPolicy: Type.Optional(BackoffPolicySchema),
    backoffDelay: Type.Optional(
      Type.String({
        description:
          'The base wait before a retry, as an ISO-8601 duration such as PT0.2S; backoffPolicy says how it grows from one retry to the next. Unset: retries follow each other at once.',
      }),
    ),
    retryAfterMax: Type.Optional(
      Type.String({
        description:
          'Honour the Retry-After header of 429 and 503 responses when waiting before a retry, waiting at most this ISO-8601 duration; PT0S ignores the header. Unset: the header is ignored. Needs the delivery-retryafter feature, disabled by default.',
      }),
    ),
    format: Type.Optional(DeliveryFormatSchema),
  },
  { additionalProperties: false },
);
export type DeliverySpec = Static<typeof DeliverySpecSchema>;

/** Resolved dead-letter sink, inlined in Broker/Trigger/Channel status. */
export const DeliveryStatusProperties = {
  deadLetterSinkUri: Type.Optional(
    Type.String({
      description:
        'The URL the dead-letter sink in effect resolved to; where events that cannot be delivered are sent.',
    }),
  ),
  deadLetterSinkCACerts: Type.Optional(
    Type.String({
      description: 'PEM-encoded CA certificates trusted when sending to the dead-letter sink.',
    }),
  ),
  deadLetterSinkAudience: Type.Optional(
    Type.String({ description: 'OIDC audience of the tokens sent to the dead-letter sink.' }),
  ),
};
export const DeliveryStatusSchema = Type.Object(DeliveryStatusProperties, { additionalProperties: false });
export type DeliveryStatus = Static<typeof DeliveryStatusSchema>;

/** A resolved address (`status.address`). */
export const AddressSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description: 'Name of this address, for example http or https; a reference picks one by this name.',
      }),
    ),
    url: Type.Optional(Type.String({ description: 'The URL events are sent to.' })),
    CACerts: Type.Optional(
      Type.String({
        description: 'PEM-encoded CA certificates a sender should trust to reach this address over HTTPS.',
      }),
    ),
    audience: Type.Optional(
      Type.String({ description: 'OIDC audience a sender requests tokens for to send to this address.' }),
    ),
  },
  { additionalProperties: false },
);
export type Address = Static<typeof AddressSchema>;

/** The Addressable duck status fields. */
export const AddressableStatusProperties = {
  address: Type.Optional(
    described(
      AddressSchema,
      'Where this resource receives events: send CloudEvents over HTTP POST to its url. Set once the resource is addressable.',
    ),
  ),
  addresses: Type.Optional(
    Type.Array(AddressSchema, {
      description:
        'Every address this resource receives events on (for example one for HTTP and one for HTTPS); address is the default one.',
    }),
  ),
};

/** OIDC identity of the sender. */
export const AuthStatusSchema = Type.Object(
  {
    serviceAccountName: Type.Optional(
      Type.String({
        description:
          'The ServiceAccount created for this resource; its OIDC tokens authenticate the events it sends.',
      }),
    ),
    serviceAccountNames: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'The ServiceAccounts created for this resource when it sends under more than one identity.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'The identity this resource sends events with when OIDC authentication is enabled.',
  },
);
export type AuthStatus = Static<typeof AuthStatusSchema>;

/** EventPolicies applying to a resource (`status.policies[]`). */
export const AppliedEventPolicySchema = Type.Object(
  {
    apiVersion: Type.Optional(
      Type.String({ description: 'API version of the EventPolicy, which tells the policy features in use.' }),
    ),
    name: Type.Optional(Type.String({ description: 'Name of the EventPolicy.' })),
  },
  { additionalProperties: false },
);
export type AppliedEventPolicy = Static<typeof AppliedEventPolicySchema>;

/** `status.policies`: the EventPolicies that decide who may send to a resource. */
export const PoliciesSchema = Type.Array(AppliedEventPolicySchema, {
  description:
    'The EventPolicies that apply to this resource, which decide who may send events to it when authentication is enforced.',
});

/** CloudEvent extensions a source adds to every event it sends. */
export const CloudEventOverridesSchema = Type.Object(
  {
    extensions: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          'Extension attributes set on every event sent, replacing any of the same name. Names are lower-case letters and digits and may not be id, source, specversion or type.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Changes applied to every event this source sends.',
  },
);
export type CloudEventOverrides = Static<typeof CloudEventOverridesSchema>;

/** The Source duck spec fields. */
export const SourceSpecProperties = {
  sink: described(
    DestinationSchema,
    'Where this source sends its events: a ref to an Addressable (a Broker, a Channel, a Service) and/or a URI. Required.',
  ),
  ceOverrides: Type.Optional(CloudEventOverridesSchema),
};

export const CloudEventAttributesSchema = Type.Object(
  {
    type: Type.Optional(Type.String({ description: 'The type attribute of the events.' })),
    source: Type.Optional(Type.String({ description: 'The source attribute of the events.' })),
  },
  { additionalProperties: false },
);
export type CloudEventAttributes = Static<typeof CloudEventAttributesSchema>;

/** The Source duck status fields. */
export const SourceStatusProperties = {
  sinkUri: Type.Optional(
    Type.String({ description: 'The URL spec.sink resolved to; where the events are sent now.' }),
  ),
  sinkCACerts: Type.Optional(
    Type.String({ description: 'PEM-encoded CA certificates trusted when sending to the sink.' }),
  ),
  sinkAudience: Type.Optional(Type.String({ description: 'OIDC audience of the tokens sent to the sink.' })),
  ceAttributes: Type.Optional(
    Type.Array(CloudEventAttributesSchema, {
      description: 'The type and source attributes of the events this source sends.',
    }),
  ),
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
