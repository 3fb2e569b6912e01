import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { instrumentPingSend, PING_SOURCE_GROUP, SourceMetrics } from './source-metrics';

/** A sink answering each POST with the next status of `statuses` (the last one repeats). */
async function sink(statuses: number[]): Promise<{ url: string; server: Server }> {
  let i = 0;
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(statuses[Math.min(i++, statuses.length - 1)]!).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

const event = (id: string) => ({
  attributes: {
    id,
    type: 'dev.knative.sources.ping',
    source: '/apis/v1/namespaces/ns/pingsources/every-minute',
  },
});

describe('SourceMetrics', () => {
  it('counts and times every attempt of a PingSource send, first attempts and retries apart', async () => {
    const { url, server } = await sink([503, 503, 202]);
    try {
      const m = new SourceMetrics({ defaultMetrics: false });
      const send = instrumentPingSend(m, async (_e: ReturnType<typeof event>, to: string) => {
        const res = await fetch(to, { method: 'POST', body: '{}' });
        return { ok: res.ok, status: res.status };
      });
      for (let attempt = 0; attempt < 3; attempt++) await send(event('e1'), url);
      await send(event('e2'), url);
      const text = await m.registry.metrics();
      const labels =
        'namespace_name="ns",name="every-minute",resource_group="pingsources.sources.knative.dev",event_source="/apis/v1/namespaces/ns/pingsources/every-minute",event_type="dev.knative.sources.ping"';
      expect(text).toContain(
        `pingsource_event_count{${labels},response_code="503",response_code_class="5xx"} 1`,
      );
      expect(text).toContain(
        `pingsource_event_count{${labels},response_code="202",response_code_class="2xx"} 1`,
      );
      expect(text).toContain(
        `pingsource_retry_event_count{${labels},response_code="503",response_code_class="5xx"} 1`,
      );
      expect(text).toContain(
        `pingsource_retry_event_count{${labels},response_code="202",response_code_class="2xx"} 1`,
      );
      expect(text).toContain(
        'http_client_request_duration_seconds_count{kn_source_namespace="ns",kn_source_name="every-minute",kn_source_resourcegroup="pingsources.sources.knative.dev",cloudevents_type="dev.knative.sources.ping",http_response_status_code="202"} 2',
      );
    } finally {
      server.close();
    }
  });

  it('counts a send that throws under status 0 and rethrows', async () => {
    const m = new SourceMetrics({ defaultMetrics: false });
    const send = instrumentPingSend(m, async () => {
      throw new Error('connection refused');
    });
    await expect(send(event('e1'), 'http://127.0.0.1:1/')).rejects.toThrow('connection refused');
    expect(await m.registry.metrics()).toContain('http_response_status_code="0"');
  });

  it('bounds event types per source and names a source that is not a PingSource `other`', async () => {
    const m = new SourceMetrics({ defaultMetrics: false });
    const one = m.source(PING_SOURCE_GROUP, 'ns', 'p');
    for (let i = 0; i < 100; i++) one.attempt(`type.${i}`, '/s', 202, false, 0.01);
    const text = await m.registry.metrics();
    const series = [...text.matchAll(/^pingsource_event_count\{[^}]*\} (\d+)$/gm)];
    expect(series.length).toBeLessThanOrEqual(21);
    expect(series.reduce((a, s) => a + Number(s[1]), 0)).toBe(100);
    const send = instrumentPingSend(m, async () => ({ ok: true, status: 202 }));
    await send({ attributes: { id: 'x', type: 't', source: 'urn:elsewhere' } }, 'http://127.0.0.1:1/');
    expect(await m.registry.metrics()).toContain('kn_source_name="other"');
  });
});
