import type { FieldError } from '@eventing/api';

/**
 * Renders field errors as upstream's webhooks show them: `<message>: <path>[, <path>…]`, errors with
 * the same message merged into one line with their paths sorted, lines sorted by message
 * (`missing field(s): spec.broker, spec.subscriber`).
 */
export function formatUpstreamStyle(errors: readonly FieldError[]): string {
  const byMessage = new Map<string, Set<string>>();
  for (const e of errors) {
    let paths = byMessage.get(e.message);
    if (paths === undefined) byMessage.set(e.message, (paths = new Set()));
    paths.add(e.path);
  }
  return [...byMessage.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([message, paths]) => {
      const list = [...paths].filter((p) => p !== '').sort();
      return list.length === 0 ? message : `${message}: ${list.join(', ')}`;
    })
    .join('\n');
}
