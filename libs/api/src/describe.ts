import { CloneType, type TSchema } from '@sinclair/typebox';

/**
 * A copy of a shared schema with a description of its own, for a field whose meaning depends on
 * where the schema is used (a Destination as a subscriber, a reply or a dead-letter sink). The
 * description reaches the CRD, so `kubectl explain` prints it.
 */
export function described<T extends TSchema>(schema: T, description: string): T {
  // CloneType's options never override what the schema already has, so set it on the copy.
  return Object.assign(CloneType(schema), { description });
}
