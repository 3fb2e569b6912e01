import type { AttributeValue, CloudEvent } from '@eventing/cloudevents';

/** Longest `knativeerrordata` value, in base64 characters (CONFORMANCE D2). */
export const ERROR_DATA_MAX_CHARS = 1024;
/** Body bytes whose base64 fills exactly ERROR_DATA_MAX_CHARS (4 characters per 3 bytes). */
const ERROR_DATA_MAX_BYTES = (ERROR_DATA_MAX_CHARS / 4) * 3;

/**
 * The original event with the dead-letter extensions (D2): `knativeerrordest` (the target that
 * failed), `knativeerrorcode` (its last HTTP status; 500 for network errors) and `knativeerrordata`
 * (base64 of the failed response body, cut to 1024 characters; omitted when the body is empty).
 * Data is shared, not copied.
 */
export function withErrorExtensions(
  event: CloudEvent,
  destination: string,
  status: number,
  body: Buffer,
): CloudEvent {
  const attributes: Record<string, AttributeValue> = {
    ...event.attributes,
    knativeerrordest: destination,
    knativeerrorcode: status,
  };
  if (body.length > 0) {
    // base64 of the first 768 bytes equals the first 1024 characters of the whole body's base64.
    const head = body.length > ERROR_DATA_MAX_BYTES ? body.subarray(0, ERROR_DATA_MAX_BYTES) : body;
    attributes.knativeerrordata = head.toString('base64');
  } else {
    delete attributes.knativeerrordata;
  }
  return { attributes, data: event.data };
}
