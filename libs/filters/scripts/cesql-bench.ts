/**
 * Micro-benchmark of the CESQL engine: ns per event for `matches()` and `evaluate()` on a few
 * typical expressions. Run: `npx esbuild libs/filters/scripts/cesql-bench.ts --bundle --platform=node
 * --alias:@eventing/cloudevents=./libs/cloudevents/src/index.ts --outfile=/tmp/cesql-bench.js && node /tmp/cesql-bench.js`
 */
import type { CloudEvent } from '@eventing/cloudevents';
import { parseCesql } from '../src/cesql/parse';

const EXPRESSIONS = [
  "type = 'com.example.t3'",
  "type LIKE 'com.example.%' AND source = '/src/3'",
  '(seq > 100 AND seq % 2 = 0) OR EXISTS subject',
  "LOWER(kind) IN ('a', 'b', 'c') AND NOT (region = 'eu')",
];

// Binary-mode events: every attribute is a string, as received from HTTP headers.
const events: CloudEvent[] = Array.from({ length: 1000 }, (_, i) => ({
  attributes: {
    specversion: '1.0',
    id: String(i),
    source: `/src/${i % 7}`,
    type: `com.example.t${i % 10}`,
    seq: String(i),
    kind: ['A', 'b', 'x'][i % 3] as string,
    region: i % 2 ? 'eu' : 'us',
  },
  data: undefined,
}));

function nsPerEvent(run: (event: CloudEvent) => unknown, rounds: number): number {
  let best = Infinity;
  for (let attempt = 0; attempt < 5; attempt++) {
    const start = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) for (const event of events) run(event);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / (rounds * events.length));
  }
  return best;
}

for (const source of EXPRESSIONS) {
  const parsed = parseCesql(source);
  if (!parsed.ok) throw new Error(parsed.errors[0]?.message);
  const expression = parsed.expression;
  const parseNs = nsPerEvent(() => parseCesql(source), 2);
  nsPerEvent((e) => expression.matches(e), 200);
  const matches = nsPerEvent((e) => expression.matches(e), 1000);
  const evaluate = nsPerEvent((e) => expression.evaluate(e), 1000);
  const hits = events.filter((e) => expression.matches(e)).length;
  console.log(
    `${source.padEnd(58)} matches ${matches.toFixed(1).padStart(6)} ns  evaluate ${evaluate.toFixed(1).padStart(6)} ns  parse+compile ${(parseNs / 1000).toFixed(1).padStart(5)} µs  (${hits}/1000 match)`,
  );
}
