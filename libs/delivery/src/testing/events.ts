import type { AttributeValue, CloudEvent } from '@eventing/cloudevents';

/** A small valid CloudEvent with JSON data; attributes may be overridden or added. */
export function testEvent(attributes: Record<string, AttributeValue> = {}, data = '{"n":1}'): CloudEvent {
  return {
    attributes: {
      specversion: '1.0',
      id: 'evt-1',
      source: '/test/source',
      type: 'dev.test.event',
      datacontenttype: 'application/json',
      ...attributes,
    },
    data: Buffer.from(data),
  };
}

/** Response headers of a subscriber answering with a binary-mode CloudEvent reply. */
export function binaryReplyHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': 'reply-1',
    'ce-source': '/subscriber',
    'ce-type': 'dev.test.reply',
    'content-type': 'text/plain',
    ...extra,
  };
}
