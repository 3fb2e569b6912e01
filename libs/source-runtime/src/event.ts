import { randomUUID } from 'node:crypto';
import type { AttributeValue, CloudEvent } from '@eventing/cloudevents';
import type { CeOverrides } from './env';

/** What a source says about one event; the rest (`specversion`, `id`, `time`) is filled in. */
export interface SourceEventInit {
  type: string;
  source: string;
  subject?: string;
  /** Default: a new UUID. */
  id?: string;
  /** Default: now. */
  time?: Date;
  datacontenttype?: string;
  dataschema?: string;
  /** Extension attributes (lower-case names). */
  extensions?: Record<string, AttributeValue>;
  data?: Buffer;
}

/** Builds a CloudEvent 1.0 as upstream's adapters' SDK client does: a UUID `id` and `time` = now when absent. */
export function sourceEvent(init: SourceEventInit): CloudEvent {
  const attributes: Record<string, AttributeValue> = {
    specversion: '1.0',
    id: init.id ?? randomUUID(),
    source: init.source,
    type: init.type,
    time: (init.time ?? new Date()).toISOString(),
  };
  if (init.subject !== undefined) attributes['subject'] = init.subject;
  if (init.datacontenttype !== undefined) attributes['datacontenttype'] = init.datacontenttype;
  if (init.dataschema !== undefined) attributes['dataschema'] = init.dataschema;
  if (init.extensions !== undefined) {
    for (const name in init.extensions) {
      if (!CORE.has(name)) attributes[name] = init.extensions[name] as AttributeValue;
    }
  }
  return { attributes, data: init.data };
}

/** Context attributes that overrides and extensions never replace. */
const CORE = new Set([
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

/**
 * Sets `ceOverrides.extensions` on the event (replacing extensions of the same name), in place: the
 * event is the adapter's own. Names of context attributes are skipped (validation refuses them).
 */
export function applyCeOverrides(event: CloudEvent, overrides: CeOverrides | undefined): CloudEvent {
  const extensions = overrides?.extensions;
  if (extensions === undefined) return event;
  for (const name in extensions) {
    const value = extensions[name];
    if (!CORE.has(name) && typeof value === 'string') event.attributes[name] = value;
  }
  return event;
}
