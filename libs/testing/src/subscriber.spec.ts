import { startSubscriber } from './subscriber';

describe('test subscriber', () => {
  it('records requests and answers from its script', async () => {
    const sub = await startSubscriber((_req, i) => ({ status: i === 0 ? 500 : 202 }));
    try {
      const first = await fetch(sub.url + '/x', { method: 'POST', body: 'a' });
      const second = await fetch(sub.url + '/y', { method: 'POST', body: 'b' });
      expect([first.status, second.status]).toEqual([500, 202]);
      const seen = await sub.waitFor(2);
      expect(seen.map((r) => [r.url, r.body.toString()])).toEqual([
        ['/x', 'a'],
        ['/y', 'b'],
      ]);
      await expect(sub.waitFor(3, 50)).rejects.toThrow('expected 3 requests');
    } finally {
      await sub.close();
    }
  });
});
