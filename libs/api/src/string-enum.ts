import { Type, type TUnsafe } from '@sinclair/typebox';

/** A string restricted to `values`, emitted as a plain JSON-schema `enum` (which Kubernetes accepts). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}
