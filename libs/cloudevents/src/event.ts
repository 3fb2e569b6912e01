/** A context attribute or extension value: strings on the wire; structured JSON may carry numbers/booleans. */
export type AttributeValue = string | number | boolean;

/**
 * One CloudEvent as it travels through the data plane.
 *
 * `attributes` holds every context attribute and extension by its (lower-case) name, including
 * `specversion`, `id`, `source`, `type` and the optional ones when present. `data` is the payload as
 * bytes exactly as received (for structured JSON events with a JSON `datacontenttype`, the JSON text
 * of the `data` member), or undefined when the event has no data.
 */
export interface CloudEvent {
  attributes: Record<string, AttributeValue>;
  data: Buffer | undefined;
}

/** An HTTP request or response body with its headers, ready to send. Header names are lower-case. */
export interface HttpMessage {
  headers: Record<string, string>;
  body: Buffer | undefined;
}
