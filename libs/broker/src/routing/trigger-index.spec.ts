import fc from 'fast-check';
import type { CloudEvent } from '@eventing/cloudevents';
import { compileTriggerFilter, triggerIndexKeys, type SubscriptionsApiFilter } from '@eventing/filters';
import { TriggerIndex } from './trigger-index';

const types = ['com.a.created', 'com.a.deleted', 'com.b.created', 'org.x', 'c'];
const sources = ['/s1', '/s2', '/s3'];

const arbLeaf: fc.Arbitrary<SubscriptionsApiFilter> = fc.oneof(
  fc.record({ exact: fc.record({ type: fc.constantFrom(...types) }) }),
  fc.record({ exact: fc.record({ source: fc.constantFrom(...sources) }) }),
  fc.record({ prefix: fc.record({ type: fc.constantFrom('com.', 'com.a.', 'org', 'c', 'zzz') }) }),
  fc.record({ suffix: fc.record({ type: fc.constantFrom('.created', 'x') }) }),
  fc.record({ exact: fc.record({ tenant: fc.constantFrom('a', 'b', '5') }) }),
  fc.record({
    cesql: fc.constantFrom(
      "tenant = 'a'",
      "type LIKE 'com.%' AND tenant = '5'",
      "source = '/s1' OR tenant = 'b'",
      'EXISTS tenant',
    ),
  }),
);
const arbFilters = fc.array(
  fc.oneof(arbLeaf, fc.record({ any: fc.array(arbLeaf, { minLength: 1, maxLength: 2 }) })),
  { maxLength: 3 },
);
const arbEvent: fc.Arbitrary<CloudEvent> = fc.record({
  attributes: fc.record(
    {
      specversion: fc.constant('1.0'),
      id: fc.constant('1'),
      type: fc.constantFrom(...types),
      source: fc.constantFrom(...sources),
      tenant: fc.constantFrom<string | number>('a', 'b', 5, '5'),
    },
    { requiredKeys: ['specversion', 'id', 'type', 'source'] },
  ),
  data: fc.constant(undefined),
});

function build(triggers: SubscriptionsApiFilter[][]) {
  const routes = triggers.map((filters, i) => ({
    id: `t${i}`,
    filter: compileTriggerFilter(undefined, filters),
    keys: triggerIndexKeys(undefined, filters),
  }));
  return { routes, index: new TriggerIndex(routes) };
}

describe('TriggerIndex', () => {
  it('matches exactly the triggers a linear scan of every filter matches', () => {
    fc.assert(
      fc.property(
        fc.array(arbFilters, { maxLength: 30 }),
        fc.array(arbEvent, { minLength: 1, maxLength: 10 }),
        (triggers, events) => {
          const { routes, index } = build(triggers);
          for (const event of events) {
            const expected = routes
              .filter((r) => r.filter.match(event))
              .map((r) => r.id)
              .sort();
            expect(index.match(event).sort()).toEqual(expected);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('evaluates only the buckets an event can hit', () => {
    let evaluated = 0;
    const counting = (type: string) => ({
      match: (e: CloudEvent) => {
        evaluated++;
        return e.attributes.type === type;
      },
      explain: () => ({ matched: false, reasons: [] }),
    });
    const routes = Array.from({ length: 1000 }, (_, i) => ({
      id: `t${i}`,
      filter: counting(`type.${i}`),
      keys: { type: `type.${i}` },
    }));
    const index = new TriggerIndex(routes);
    expect(
      index.match({
        attributes: { specversion: '1.0', id: '1', source: '/', type: 'type.7' },
        data: undefined,
      }),
    ).toEqual(['t7']);
    expect(evaluated).toBe(1);
  });
});
