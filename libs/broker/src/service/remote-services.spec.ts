import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceCore } from '@eventing/runtime';
import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { brokerFilterService, brokerIngressService } from './remote-services';

// The metrics of broker-ingress and broker-filter, read from their registries after real requests.

function writeContract(path: string, document: string | object): void {
  writeFileSync(`${path}.tmp`, typeof document === 'string' ? document : JSON.stringify(document));
  renameSync(`${path}.tmp`, path);
}

async function serve(core: ServiceCore): Promise<{ url: string; server: Server }> {
  const server = createServer(core.handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const ce = (type: string, extra: Record<string, string> = {}) => ({
  'ce-specversion': '1.0',
  'ce-id': 'i1',
  'ce-source': '/src',
  'ce-type': type,
  'content-type': 'text/plain',
  ...extra,
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('broker-ingress and broker-filter metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'remote-metrics-'));
  const subscribers: TestSubscriber[] = [];
  const servers: Server[] = [];
  const cores: ServiceCore[] = [];

  afterAll(async () => {
    for (const s of servers) s.close();
    for (const c of cores) await c.close();
    for (const s of subscribers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('broker-ingress counts requests by broker, type and code; unknown brokers never become labels', async () => {
    const channel = await startSubscriber();
    subscribers.push(channel);
    const contractPath = join(dir, 'ingress.json');
    writeContract(contractPath, {
      version: 1,
      generation: 3,
      brokers: [{ uid: 'u1', namespace: 'ns', name: 'b', channelAddress: `${channel.url}/ns/b` }],
      triggers: [],
    });
    const core = brokerIngressService({
      contractPath,
      logLevel: 'error',
      maxBodyBytes: 1024,
      maxTtl: 255,
      channelTimeoutMs: 5_000,
    });
    cores.push(core);
    await eventually(async () => core.readiness().ready);
    const { url, server } = await serve(core);
    servers.push(server);
    for (const path of ['/ns/b', '/ns/b', '/ns/nope', '/random-ns/random-name'])
      await fetch(`${url}${path}`, { method: 'POST', headers: ce('order'), body: 'x' });
    await fetch(`${url}/ns/random`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    const text = await core.registry!.metrics();
    expect(text).toContain(
      'mt_broker_ingress_event_count{broker_name="b",namespace_name="ns",event_type="order",response_code="202",response_code_class="2xx"} 2',
    );
    expect(text).toContain(
      'mt_broker_ingress_event_count{broker_name="other",namespace_name="other",event_type="other",response_code="404",response_code_class="4xx"} 2',
    );
    // Not a CloudEvent, refused before the broker is looked up: counted, but not under the path's names.
    expect(text).toMatch(
      /mt_broker_ingress_event_count\{broker_name="other",[^}]*response_code="400"[^}]*\} 1/,
    );
    expect(text).not.toContain('random');
    expect(text).toContain('eventing_contract_generation 3');
    writeContract(contractPath, '{ not json');
    await eventually(async () =>
      (await core.registry!.metrics()).includes(
        'eventing_contract_apply_failures_total{reason="contract_rejected"} 1',
      ),
    );
  });

  it('broker-filter counts each attempt by trigger and status, not events its filter did not pass', async () => {
    const ok = await startSubscriber(() => ({ status: 200 }));
    const failing = await startSubscriber(() => ({ status: 500 }));
    subscribers.push(ok, failing);
    const contractPath = join(dir, 'filter.json');
    const policy = { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0, timeoutMs: 2_000 };
    const trigger = (name: string, subscriberUri: string) => ({
      uid: `uid-${name}`,
      namespace: 'ns',
      name,
      broker: 'default',
      filter: { attributes: { type: 'match.me' } },
      subscriberUri,
      policy,
      format: 'binary',
    });
    writeContract(contractPath, {
      version: 1,
      generation: 1,
      brokers: [],
      triggers: [trigger('ok', ok.url), trigger('failing', failing.url)],
    });
    const core = brokerFilterService({ contractPath, logLevel: 'error', maxBodyBytes: 1024 });
    cores.push(core);
    await eventually(async () => core.readiness().ready);
    const { url, server } = await serve(core);
    servers.push(server);
    const send = (path: string, type: string) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: ce(type, { 'ce-knativebrokerttl': '9' }),
        body: 'x',
      });
    await send('/triggers/ns/ok/uid-ok', 'match.me');
    await send('/triggers/ns/ok/uid-ok', 'something.else');
    await send('/triggers/ns/failing/uid-failing', 'match.me');
    await send('/triggers/ns/missing/uid-x', 'match.me');
    const text = await core.registry!.metrics();
    expect(text).toContain(
      'mt_broker_filter_event_count{broker_name="default",trigger_name="ok",namespace_name="ns",response_code="200",response_code_class="2xx"} 1',
    );
    expect(text).toContain(
      'mt_broker_filter_event_count{broker_name="default",trigger_name="failing",namespace_name="ns",response_code="500",response_code_class="5xx"} 1',
    );
    expect(text).toContain(
      'mt_broker_filter_event_count{broker_name="other",trigger_name="other",namespace_name="other",response_code="404",response_code_class="4xx"} 1',
    );
    // Outcomes belong to the channel dispatcher in front, which retries.
    expect(text).not.toMatch(/^eventing_delivery_outcomes_total\{/m);
  });
});
