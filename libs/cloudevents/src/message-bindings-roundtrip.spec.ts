// Round trips through the Kafka and NATS bindings (property tests): what we write, we read back as the
// same event; what is not a valid event is refused naming the attribute.
import fc from 'fast-check';
import { type AttributeValue, type CloudEvent } from './event';
import { type ParseResult } from './json-format';
import { parseKafkaRecord, toKafkaRecord } from './kafka';
import { parseNatsMessage, toNatsMessage } from './nats';
import { asStrings, ceString, validEvents } from './testing/arbitraries';

type Mode = 'binary' | 'structured';

const bindings: Record<string, (event: CloudEvent, mode: Mode) => ParseResult> = {
  kafka: (event, mode) => parseKafkaRecord(toKafkaRecord(event, mode)),
  nats: (event, mode) => {
    const msg = toNatsMessage(event, mode);
    return parseNatsMessage(msg.headers, msg.data);
  },
  // Headers as a consumer holds them: name -> values, as nats.js MsgHdrs iterates and nats.go's Header.
  'nats (name -> values)': (event, mode) => {
    const msg = toNatsMessage(event, mode);
    const headers = new Map(Object.entries(msg.headers).map(([k, v]) => [k, [v]]));
    return parseNatsMessage(headers, msg.data);
  },
};

const ok = (r: ParseResult): CloudEvent => {
  if (!r.ok) throw new Error(`${r.reason} (${r.attribute})`);
  return r.event;
};

describe.each(Object.keys(bindings))('%s round trips (property)', (name) => {
  const roundTrip = bindings[name]!;

  it('binary mode returns the same event, values as text, the data buffer itself', () => {
    fc.assert(
      fc.property(validEvents(true), (event) => {
        const back = ok(roundTrip(event, 'binary'));
        expect(back.attributes).toEqual(asStrings(event));
        expect(back.data).toBe(event.data);
      }),
      { numRuns: 400 },
    );
  });

  it('structured mode returns the same event, typed extensions included', () => {
    fc.assert(
      fc.property(validEvents(true), (event) => {
        const back = ok(roundTrip(event, 'structured'));
        expect(back.attributes).toEqual(event.attributes);
        expect(back.data).toEqual(event.data);
      }),
      { numRuns: 400 },
    );
  });
});

describe('Kafka record keys', () => {
  it('are the partitionkey extension as text in both modes, absent without it', () => {
    fc.assert(
      fc.property(validEvents(true), fc.constantFrom<Mode>('binary', 'structured'), (event, mode) => {
        const key = event.attributes.partitionkey;
        const record = toKafkaRecord(event, mode);
        expect(record.key).toBe(key === undefined ? undefined : String(key));
        expect('key' in record).toBe(key !== undefined);
      }),
      { numRuns: 200 },
    );
  });
});

// An attribute made invalid, and the attribute a reader must name.
type Corruption = [attribute: string, value: AttributeValue];
const corruptions: fc.Arbitrary<Corruption> = fc.oneof(
  fc.constant<Corruption>(['time', 'yesterday']),
  fc.constant<Corruption>(['time', '2024-02-30T00:00:00Z']),
  fc.constant<Corruption>(['source', 'not a uri']),
  fc.constant<Corruption>(['specversion', '2.0']),
  fc.constant<Corruption>(['id', '']),
  fc.constant<Corruption>(['datacontenttype', 'not a media type']),
  ceString.map((s): Corruption => ['subject', `${s}\u0001`]),
  ceString.map((s): Corruption => ['myext', `\u0000${s}`]),
);

describe.each(Object.keys(bindings))('%s refuses invalid events (property)', (name) => {
  const roundTrip = bindings[name]!;

  it.each<Mode>(['binary', 'structured'])('in %s mode, naming the attribute', (mode) => {
    fc.assert(
      fc.property(validEvents(false), corruptions, (event, [attribute, value]) => {
        const bad: CloudEvent = { attributes: { ...event.attributes, [attribute]: value }, data: event.data };
        const r = roundTrip(bad, mode);
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.attribute).toBe(attribute);
          expect(r.reason).toContain(`"${attribute}"`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
