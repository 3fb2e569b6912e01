import type { CloudEvent } from '@eventing/cloudevents';
import { compileTriggerFilter } from './compile';

const events: CloudEvent[] = Array.from({ length: 1000 }, (_, i) => ({
  attributes: { specversion: '1.0', id: String(i), source: `/src/${i % 7}`, type: `com.example.t${i % 10}`, seq: i },
  data: undefined,
}));

function nsPerMatch(match: (e: CloudEvent) => boolean, rounds: number): number {
  let hits = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const e of events) if (match(e)) hits++;
  const ns = Number(process.hrtime.bigint() - start) / (rounds * events.length);
  expect(hits).toBeGreaterThan(0);
  return ns;
}

describe('compiled filter cost per event', () => {
  it.each([
    ['legacy single type', { attributes: { type: 'com.example.t3' } }, undefined],
    ['filters exact type', undefined, [{ exact: { type: 'com.example.t3' } }]],
    [
      'nested all/any/not/prefix/suffix',
      undefined,
      [
        { prefix: { type: 'com.example.' } },
        { any: [{ suffix: { source: '/3' } }, { exact: { seq: '10' } }] },
        { not: { exact: { type: 'com.example.t9' } } },
      ],
    ],
  ] as const)('%s', (name, filter, filters) => {
    const compiled = compileTriggerFilter(filter, filters as never);
    nsPerMatch(compiled.match, 50); // warm-up
    const ns = nsPerMatch(compiled.match, 1000);
    console.log(`filter "${name}": ${ns.toFixed(1)} ns/event`);
    expect(ns).toBeLessThan(2000);
  });
});
