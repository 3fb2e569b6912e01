import { PASSTHROUGH_HEADERS, pickPassthroughHeaders } from './headers';

describe('passthrough headers (B11, 2.9)', () => {
  it.each([
    'x-request-id',
    'X-Request-Id',
    'retry-after',
    'knative-foo',
    'Knative-Serving-Revision',
    'x-b3-traceid',
    'X-B3-SpanId',
    'traceparent',
    'tracestate',
  ])('%s passes', (name) => expect(PASSTHROUGH_HEADERS(name)).toBe(true));

  it.each([
    'ce-id',
    'content-type',
    'authorization',
    'prefer',
    'kn-namespace',
    'knative',
    'x-b3',
    'host',
    'cookie',
  ])('%s does not pass', (name) => expect(PASSTHROUGH_HEADERS(name)).toBe(false));

  it('picks, lower-cases and joins repeated values', () => {
    expect(
      pickPassthroughHeaders({
        'X-Request-Id': 'abc',
        'knative-a': ['1', '2'],
        'ce-id': '1',
        'content-type': 'text/plain',
        'x-b3-sampled': undefined,
      }),
    ).toEqual({ 'x-request-id': 'abc', 'knative-a': '1, 2' });
  });
});
