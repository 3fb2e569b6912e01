import { randomUUID } from 'node:crypto';
import type { AttributeValue, CloudEvent } from '@eventing/cloudevents';
import type { PingSpec } from './types';

export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

/** Attributes the PingSource sets itself; `ceOverrides.extensions` may not replace them. */
const RESERVED = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'datacontenttype',
  'dataschema',
  'subject',
  'data',
  'data_base64',
]);

/** The CloudEvent source of a PingSource: `/apis/v1/namespaces/<ns>/pingsources/<name>`. */
export function pingEventSource(namespace: string, name: string): string {
  return `/apis/v1/namespaces/${namespace}/pingsources/${name}`;
}

/** Builds one tick's event (CONFORMANCE 4.1): a new id, `time` = `now`, data from dataBase64 or data. */
export function buildPingEvent(spec: PingSpec, now: Date): CloudEvent {
  const attributes: Record<string, AttributeValue> = {
    specversion: '1.0',
    id: randomUUID(),
    source: pingEventSource(spec.namespace, spec.name),
    type: PING_EVENT_TYPE,
    time: now.toISOString(),
  };
  if (spec.contentType !== undefined && spec.contentType !== '')
    attributes['datacontenttype'] = spec.contentType;
  const extensions = spec.ceOverrides?.extensions;
  if (extensions) {
    for (const name of Object.keys(extensions)) {
      const value = extensions[name];
      if (!RESERVED.has(name) && typeof value === 'string') attributes[name] = value;
    }
  }
  let data: Buffer | undefined;
  if (spec.dataBase64 !== undefined && spec.dataBase64 !== '') data = Buffer.from(spec.dataBase64, 'base64');
  else if (spec.data !== undefined && spec.data !== '') data = Buffer.from(spec.data, 'utf8');
  return { attributes, data };
}
