import { stringify } from 'yaml';
import { sleep, type RecordedRequest, type TestSubscriber } from '@eventing/testing';
import type { ConformanceTarget } from './target';
import { BROKER_CONFIG, CHANNEL_TYPE, KAFKA_CLASS, STORE } from './store';

/** A Kubernetes-style resource document. */
export type Resource = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec?: unknown;
  data?: unknown;
};

/** Options of a Trigger built by `trigger()`. */
export interface TriggerOptions {
  /** Shorthand for `filter.attributes.type`. */
  type?: string;
  attributes?: Record<string, string>;
  filters?: unknown[];
  delivery?: Record<string, unknown>;
}

/** A Broker document, on the channel kind of the store under test. */
export function broker(namespace: string, name: string, delivery?: Record<string, unknown>): Resource {
  const config =
    STORE === 'memory' || KAFKA_CLASS
      ? undefined
      : { apiVersion: 'v1', kind: 'ConfigMap', name: BROKER_CONFIG, namespace: 'knative-eventing' };
  const spec = { ...(config ? { config } : {}), ...(delivery ? { delivery } : {}) };
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: {
      name,
      namespace,
      ...(KAFKA_CLASS ? { annotations: { 'eventing.knative.dev/broker.class': 'Kafka' } } : {}),
    },
    ...(Object.keys(spec).length > 0 ? { spec } : {}),
  };
}

/** A Trigger document on `brokerName` sending to `subscriber`. */
export function trigger(
  namespace: string,
  name: string,
  brokerName: string,
  subscriber: string,
  opts: TriggerOptions = {},
): Resource {
  const attributes = opts.type !== undefined ? { type: opts.type, ...opts.attributes } : opts.attributes;
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, namespace },
    spec: {
      broker: brokerName,
      ...(attributes ? { filter: { attributes } } : {}),
      ...(opts.filters ? { filters: opts.filters } : {}),
      subscriber: { uri: subscriber },
      ...(opts.delivery ? { delivery: opts.delivery } : {}),
    },
  };
}

/** A channel document of the store under test's kind (InMemoryChannel, KafkaChannel, NatsJetStreamChannel). */
export function channel(namespace: string, name: string, delivery?: Record<string, unknown>): Resource {
  return {
    ...CHANNEL_TYPE[STORE],
    metadata: { name, namespace },
    ...(delivery ? { spec: { delivery } } : {}),
  };
}

/** A Subscription document from a channel of the store under test to `subscriber`. */
export function subscription(
  namespace: string,
  name: string,
  channelName: string,
  subscriber: string,
  opts: { reply?: string; delivery?: Record<string, unknown> } = {},
): Resource {
  return {
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'Subscription',
    metadata: { name, namespace },
    spec: {
      channel: { ...CHANNEL_TYPE[STORE], name: channelName },
      subscriber: { uri: subscriber },
      ...(opts.reply ? { reply: { uri: opts.reply } } : {}),
      ...(opts.delivery ? { delivery: opts.delivery } : {}),
    },
  };
}

/** Resources of one test area: a namespace of their own on the target, unique names, deploy-and-wait. */
export class Mesh {
  private counter = 0;
  readonly namespace: string;

  constructor(
    readonly target: ConformanceTarget,
    area: string,
  ) {
    // The pid keeps two runs against one long-running target apart.
    this.namespace = `${area}-${process.pid.toString(36)}`;
  }

  /** A name not used before in this namespace. */
  unique(prefix: string): string {
    return `${prefix}-${++this.counter}`;
  }

  /** Ingress URL of a broker of this namespace. */
  brokerUrl(name: string): string {
    return `${this.target.baseUrl}/${this.namespace}/${name}`;
  }

  /** Ingress URL of a channel of this namespace. */
  channelUrl(name: string): string {
    return `${this.target.baseUrl}/_channels/${this.namespace}/${name}`;
  }

  /** Applies the resources as one file and waits until each of them is Ready. */
  async deploy(file: string, ...resources: Resource[]): Promise<void> {
    await this.target.apply(file, resources.map((r) => stringify(r)).join('---\n'));
    for (const r of resources) {
      if (r.kind === 'ConfigMap') continue;
      await this.target.waitReady(r.kind, r.metadata.namespace, r.metadata.name);
    }
  }
}

/** Minimal CloudEvent attributes plus `extra`, as `ce-*` headers with `content-type`. */
export function ceHeaders(
  id: string,
  type: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': '/conformance',
    'ce-type': type,
    'content-type': 'application/json',
    ...extra,
  };
}

/** POSTs a binary-mode event. */
export function postBinary(
  url: string,
  headers: Record<string, string>,
  body: string | Buffer = '{}',
): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body });
}

/** POSTs a structured-mode event (`application/cloudevents+json`). */
export function postStructured(
  url: string,
  event: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', ...headers },
    body: JSON.stringify(event),
  });
}

/** The requests a subscriber got for one event id (binary or structured). */
export function withId(sub: TestSubscriber, id: string): RecordedRequest[] {
  return sub.requests.filter((r) => eventId(r) === id);
}

/** The CloudEvent id of a recorded request, from `ce-id` or the structured body. */
export function eventId(r: RecordedRequest): string | undefined {
  const header = r.headers['ce-id'];
  if (typeof header === 'string') return header;
  if (String(r.headers['content-type']).startsWith('application/cloudevents+json')) {
    try {
      return (JSON.parse(r.body.toString()) as { id?: string }).id;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Waits until `count` requests for event `id` arrived; rejects after `timeoutMs` saying how many came. */
export async function waitForId(
  sub: TestSubscriber,
  id: string,
  count = 1,
  timeoutMs = 15_000,
): Promise<RecordedRequest[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = withId(sub, id);
    if (got.length >= count) return got;
    if (Date.now() > until)
      throw new Error(
        `expected ${count} deliveries of ${id} at ${sub.url}, got ${got.length} within ${timeoutMs} ms`,
      );
    await sleep(20);
  }
}

/**
 * Time allowed for a delivery that must NOT happen. Negative checks have nothing to wait for, so
 * they wait this long after the last expected arrival; generous for a loaded machine.
 */
export const QUIET_MS = 750;

/** Waits QUIET_MS so that deliveries that should not happen get the chance to show up. */
export const quietPeriod = (ms = QUIET_MS) => sleep(ms);
