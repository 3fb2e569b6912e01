import type { CloudEvent } from '@eventing/cloudevents';
import { ERROR_DATA_MAX_CHARS, withErrorExtensions } from './dead-letter';

const event: CloudEvent = {
  attributes: { specversion: '1.0', id: '1', source: '/s', type: 't', knativeerrordata: 'stale' },
  data: Buffer.from('payload'),
};

describe('dead-letter extensions (D2)', () => {
  it('adds dest and code, base64 data, and leaves the original untouched', () => {
    const out = withErrorExtensions(event, 'http://sub/', 503, Buffer.from('busy'));
    expect(out.attributes).toMatchObject({
      id: '1',
      knativeerrordest: 'http://sub/',
      knativeerrorcode: 503,
      knativeerrordata: Buffer.from('busy').toString('base64'),
    });
    expect(out.data).toBe(event.data);
    expect(event.attributes.knativeerrordest).toBeUndefined();
  });

  it('omits knativeerrordata for an empty body', () => {
    const out = withErrorExtensions(event, 'http://sub/', 500, Buffer.alloc(0));
    expect(out.attributes).not.toHaveProperty('knativeerrordata');
  });

  it.each([0, 1, 2, 766, 767, 768, 769, 770, 1000, 5000])(
    'a %i-byte body gives the first 1024 characters of its base64',
    (n) => {
      const body = Buffer.alloc(n, 0xab);
      for (let i = 0; i < n; i++) body[i] = (i * 31) & 0xff;
      const out = withErrorExtensions(event, 'http://sub/', 500, body);
      const expected = body.toString('base64').slice(0, ERROR_DATA_MAX_CHARS);
      if (n === 0) expect(out.attributes.knativeerrordata).toBeUndefined();
      else expect(out.attributes.knativeerrordata).toBe(expected);
    },
  );
});
