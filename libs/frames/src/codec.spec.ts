import fc from 'fast-check';
import {
  FrameError,
  FrameReader,
  GOAWAY,
  REQUEST,
  RESPONSE,
  decodeRequest,
  decodeResponse,
  encodeGoAway,
  encodeRequest,
  encodeResponse,
  type FrameLimits,
} from './codec';

const LIMITS: FrameLimits = { maxFrameBytes: 1024, maxHeaderPairs: 8 };

function requestBytes(stream: number, path: string, headers: string[], body: Buffer): Buffer {
  return Buffer.concat([encodeRequest(stream, path, headers, body.length), body]);
}

function collect(limits = LIMITS) {
  const frames: { type: number; stream: number; payload: Buffer }[] = [];
  const reader = new FrameReader(limits, (type, stream, payload) =>
    frames.push({ type, stream, payload: Buffer.from(payload) }),
  );
  return { frames, reader };
}

describe('eventing frames codec', () => {
  it('round-trips a request: path, header pairs (names lower-cased, repeats joined), body', () => {
    const body = Buffer.from('{"a":1}');
    const bytes = requestBytes(
      7,
      '/ns/broker',
      ['ce-id', 'x1', 'Ce-Type', 'caf\u00c3\u00a9', 'x-b3-a', '1', 'x-b3-a', '2'],
      body,
    );
    const { frames, reader } = collect();
    reader.push(bytes);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.type).toBe(REQUEST);
    expect(decodeRequest(frames[0]!.stream, frames[0]!.payload, LIMITS)).toEqual({
      stream: 7,
      path: '/ns/broker',
      headers: { 'ce-id': 'x1', 'ce-type': 'caf\u00c3\u00a9', 'x-b3-a': '1, 2' },
      body,
    });
  });

  it('round-trips a response with headers given as an object, and an empty body', () => {
    const { frames, reader } = collect();
    reader.push(encodeResponse(3, 202, { 'retry-after': '5' }, 0));
    expect(frames[0]!.type).toBe(RESPONSE);
    expect(decodeResponse(3, frames[0]!.payload, LIMITS)).toEqual({
      stream: 3,
      status: 202,
      headers: { 'retry-after': '5' },
      body: Buffer.alloc(0),
    });
  });

  it('reads many frames from one chunk and one frame split over many chunks, at any cut', () => {
    const parts = [
      requestBytes(1, '/a', ['k', 'v'], Buffer.from('one')),
      encodeGoAway(1),
      requestBytes(2, '/b', [], Buffer.alloc(300, 7)),
      requestBytes(3, '/c', ['x', ''], Buffer.alloc(0)),
    ];
    const all = Buffer.concat(parts);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: all.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set([0, ...cuts, all.length])].sort((a, b) => a - b);
        const { frames, reader } = collect();
        for (let i = 1; i < points.length; i++) reader.push(all.subarray(points[i - 1], points[i]));
        expect(frames.map((f) => [f.type, f.stream])).toEqual([
          [REQUEST, 1],
          [GOAWAY, 1],
          [REQUEST, 2],
          [REQUEST, 3],
        ]);
        expect(decodeRequest(2, frames[2]!.payload, LIMITS).body).toEqual(Buffer.alloc(300, 7));
        expect(decodeRequest(3, frames[3]!.payload, LIMITS).headers).toEqual({ x: '' });
      }),
    );
  });

  it('refuses a frame over the size limit from its head, before its payload arrived', () => {
    const bytes = requestBytes(1, '/a', [], Buffer.alloc(2000));
    const { frames, reader } = collect();
    expect(() => reader.push(bytes.subarray(0, 12))).toThrow(FrameError);
    expect(frames).toHaveLength(0);
  });

  it('refuses a head split before the length is known once it is whole', () => {
    const bytes = requestBytes(1, '/a', [], Buffer.alloc(2000));
    const { reader } = collect();
    reader.push(bytes.subarray(0, 2));
    expect(() => reader.push(bytes.subarray(2, 20))).toThrow(/more than the limit of 1024/);
  });

  it.each([
    ['an unknown type', Buffer.from([0, 0, 0, 0, 9, 0, 0, 0, 1])],
    ['a frame cut inside its headers', Buffer.from([0, 0, 0, 6, REQUEST, 0, 0, 0, 1, 0, 1, 47, 0, 3, 0])],
    ['a request without a path', Buffer.from([0, 0, 0, 4, REQUEST, 0, 0, 0, 1, 0, 0, 0, 0])],
  ])('refuses %s', (_name, bytes) => {
    const { frames, reader } = collect();
    expect(() => {
      reader.push(bytes);
      for (const f of frames) decodeRequest(f.stream, f.payload, LIMITS);
    }).toThrow(FrameError);
  });

  it('refuses more header pairs than the limit', () => {
    const pairs = Array.from({ length: 9 }, (_, i) => [`h${i}`, 'v']).flat();
    const { frames, reader } = collect();
    reader.push(requestBytes(1, '/a', pairs, Buffer.alloc(0)));
    expect(() => decodeRequest(1, frames[0]!.payload, LIMITS)).toThrow(/9 header pairs/);
  });

  it('refuses a response status outside 100-599', () => {
    const { frames, reader } = collect();
    reader.push(encodeResponse(1, 42, [], 0));
    expect(() => decodeResponse(1, frames[0]!.payload, LIMITS)).toThrow(/status 42/);
  });
});
