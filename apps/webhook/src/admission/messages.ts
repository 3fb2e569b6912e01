import type { FieldError } from '@eventing/api';

const DIFF = /^(.*\(-old \+new\)): (.*)$/s;

/**
 * Renders field errors as upstream's webhooks show them: `<message>: <path>[, <path>…]`, errors with
 * the same message merged into one line with their paths sorted, lines sorted by message
 * (`missing field(s): spec.broker, spec.subscriber`). A change diff (`immutable field changed
 * (-old +new): -a +b`) follows its line: `immutable field changed (-old +new): spec.broker\n-a +b`.
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
      // A diff goes on the next line, after the paths, as upstream prints an error's details.
      const diff = DIFF.exec(message);
      const head = diff ? diff[1]! : message;
      const line = list.length === 0 ? head : `${head}: ${list.join(', ')}`;
      return diff ? `${line}\n${diff[2]!}` : line;
    })
    .join('\n');
}
