import type { CloudEvent } from '@eventing/cloudevents';
import { parseBrokerPath } from './path';
import { applyIngressTtl, TTL_EXTENSION } from './ttl';

describe('B1: broker path', () => {
  it.each([
    ['/ns/b', { ok: true, namespace: 'ns', name: 'b' }],
    ['/ns/b/', { ok: true, namespace: 'ns', name: 'b' }],
    ['/ns/b?x=1', { ok: true, namespace: 'ns', name: 'b' }],
    ['/', { ok: false, status: 404 }],
    ['', { ok: false, status: 404 }],
    ['/ns', { ok: false, status: 400 }],
    ['/ns/b/c', { ok: false, status: 400 }],
    ['//b', { ok: false, status: 400 }],
  ])('%s', (url, expected) => {
    expect(parseBrokerPath(url)).toMatchObject(expected);
  });
});

describe('B10: TTL loop guard', () => {
  const event = (ttl?: string | number): CloudEvent => ({
    attributes: {
      specversion: '1.0',
      id: '1',
      source: '/s',
      type: 't',
      ...(ttl === undefined ? {} : { [TTL_EXTENSION]: ttl }),
    },
    data: undefined,
  });
  it.each([
    [undefined, true, '255'],
    ['10', true, '9'],
    [10, true, '9'],
    ['2', true, '1'],
    ['1', false, undefined],
    ['0', false, undefined],
    ['-3', false, undefined],
    ['abc', true, '255'],
  ])('ttl %j → accepted %s, becomes %s', (ttl, accepted, after) => {
    const e = event(ttl);
    expect(applyIngressTtl(e, 255)).toBe(accepted);
    if (after !== undefined) expect(e.attributes[TTL_EXTENSION]).toBe(after);
  });
});
