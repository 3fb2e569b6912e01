import { parseStructuredBody } from './json-format';

const attrs = { specversion: '1.0', id: 'a', source: '/s', type: 't' };
const read = (json: Record<string, unknown>) => parseStructuredBody(Buffer.from(JSON.stringify(json)));

describe('base64 data in the JSON format', () => {
  it.each([
    ['AAEC/w==', [0, 1, 2, 255]],
    ['AAEC/w', [0, 1, 2, 255]],
    ['AAEC_w==', [0, 1, 2, 255]],
    ['AAEC\r\n/w==', [0, 1, 2, 255]],
    ['', []],
  ])('reads data_base64 %j', (value, bytes) => {
    const r = read({ ...attrs, data_base64: value });
    expect(r.ok && [...r.event.data!]).toEqual(bytes);
  });

  // Buffer.from(…, 'base64') skips what is not base64, so these used to become other bytes (or none).
  it.each(['!!!not base64', 'AA==AA', 'AAA===', 'AAEC/w==é'])('refuses data_base64 %j', (value) => {
    expect(read({ ...attrs, data_base64: value })).toMatchObject({ ok: false, attribute: 'data_base64' });
  });

  it('refuses 0.3 data that is not base64 under datacontentencoding base64', () => {
    const v03 = { ...attrs, specversion: '0.3', datacontentencoding: 'base64' };
    expect(read({ ...v03, data: 'aGk=' })).toMatchObject({ ok: true });
    expect(read({ ...v03, data: 'h!' })).toMatchObject({ ok: false, attribute: 'data' });
  });
});
