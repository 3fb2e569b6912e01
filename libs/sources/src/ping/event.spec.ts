import { buildPingEvent, pingEventSource } from './event';
import type { PingSpec } from './types';

const base: PingSpec = {
  namespace: 'demo',
  name: 'heartbeat',
  schedule: '* * * * *',
  sinkUri: 'http://sink.demo.svc',
};
const now = new Date('2024-05-06T07:08:09.123Z');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('buildPingEvent (CONFORMANCE 4.1)', () => {
  it('sets the required attributes and nothing else when the spec has no data', () => {
    const event = buildPingEvent(base, now);
    expect(event.attributes).toEqual({
      specversion: '1.0',
      id: expect.stringMatching(UUID),
      source: '/apis/v1/namespaces/demo/pingsources/heartbeat',
      type: 'dev.knative.sources.ping',
      time: '2024-05-06T07:08:09.123Z',
    });
    expect(event.data).toBeUndefined();
  });

  it('uses a new id on every tick', () => {
    expect(buildPingEvent(base, now).attributes['id']).not.toBe(buildPingEvent(base, now).attributes['id']);
  });

  it('sends data as its UTF-8 bytes with datacontenttype = contentType', () => {
    const event = buildPingEvent({ ...base, data: '{"msg":"héllo"}', contentType: 'application/json' }, now);
    expect(event.attributes['datacontenttype']).toBe('application/json');
    expect(event.data).toEqual(Buffer.from('{"msg":"héllo"}', 'utf8'));
  });

  it('has no datacontenttype default when contentType is absent', () => {
    const event = buildPingEvent({ ...base, data: 'hi' }, now);
    expect(event.attributes).not.toHaveProperty('datacontenttype');
    expect(event.data?.toString()).toBe('hi');
  });

  it('decodes dataBase64 into raw bytes, preferring it over data', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const event = buildPingEvent(
      {
        ...base,
        dataBase64: bytes.toString('base64'),
        data: 'ignored',
        contentType: 'application/octet-stream',
      },
      now,
    );
    expect(event.data).toEqual(bytes);
    expect(event.attributes['datacontenttype']).toBe('application/octet-stream');
  });

  it('treats empty data/dataBase64 as no data', () => {
    expect(buildPingEvent({ ...base, data: '', dataBase64: '' }, now).data).toBeUndefined();
  });

  it('adds ceOverrides extensions without overriding the attributes it sets', () => {
    const event = buildPingEvent(
      {
        ...base,
        contentType: 'text/plain',
        ceOverrides: {
          extensions: {
            team: 'a',
            env: 'prod',
            type: 'evil',
            source: 'evil',
            id: 'evil',
            specversion: '0.3',
            time: 'x',
            datacontenttype: 'x',
          },
        },
      },
      now,
    );
    expect(event.attributes).toMatchObject({
      team: 'a',
      env: 'prod',
      type: 'dev.knative.sources.ping',
      source: pingEventSource('demo', 'heartbeat'),
      specversion: '1.0',
      time: now.toISOString(),
      datacontenttype: 'text/plain',
    });
    expect(event.attributes['id']).toMatch(UUID);
  });
});
