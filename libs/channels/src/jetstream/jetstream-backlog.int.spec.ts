// What `backlog()` of JetStreamChannelBackend reports on a real nats-server: a stuck subscriber's
// undelivered and unacknowledged messages, growing while it stays stuck, and 0 once released.
import type { CloudEvent } from '@eventing/cloudevents';
import { eventually, withNats } from '@eventing/testing';
import type { ChannelRef } from '../backend';
import { JetStreamChannelBackend } from './jetstream-backend';

jest.setTimeout(120_000);

const nats = withNats();
let n = 0;
const channel = (): ChannelRef => ({ namespace: 'backlog', name: `c${n++}-${process.pid}` });

const event = (id: string): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/jetstream-backlog', type: 'jetstream.backlog.test' },
  data: Buffer.from(id),
});

/** A handler that holds every message until `open()`, then answers with `answer`. */
function gate(answer: () => 'ack' | { nack: number } = () => 'ack') {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let handled = 0;
  return {
    open,
    get handled() {
      return handled;
    },
    handler: async () => {
      await opened;
      handled++;
      return answer();
    },
  };
}

const backlogOf = (backend: JetStreamChannelBackend, id: string): number | undefined =>
  new Map(backend.backlog()).get(id);

describe('JetStreamChannelBackend backlog', () => {
  let backends: JetStreamChannelBackend[] = [];
  const open = () => {
    const backend = new JetStreamChannelBackend({ servers: [nats.url], backlogRefreshMs: 200 });
    backends.push(backend);
    return backend;
  };
  afterEach(async () => {
    await Promise.all(backends.map((b) => b.close()));
    backends = [];
  });

  it('counts what a stuck subscriber was not given and holds, grows while it stays stuck, and falls to 0 once released', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref);
    const stuck = gate();
    await backend.subscribe(ref, { id: 'stuck', maxInFlight: 5 }, stuck.handler);
    expect(backlogOf(backend, 'stuck')).toBe(0);

    for (let i = 0; i < 200; i++) expect((await backend.append(ref, event(`e${i}`), {})).ok).toBe(true);
    // JetStream hands it at most MaxAckPending (5) messages; the rest is counted from the consumer's info.
    await eventually(() => backlogOf(backend, 'stuck') === 200, 30_000, 'a backlog of 200');
    for (let i = 200; i < 250; i++) expect((await backend.append(ref, event(`e${i}`), {})).ok).toBe(true);
    await eventually(() => backlogOf(backend, 'stuck') === 250, 30_000, 'a backlog grown to 250');

    stuck.open();
    await eventually(() => backlogOf(backend, 'stuck') === 0, 60_000, 'the backlog to fall to 0');
    expect(stuck.handled).toBe(250);
  });

  it('counts nacked messages waiting for their redelivery', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref);
    const nacking = gate(() => ({ nack: 60_000 }));
    nacking.open();
    await backend.subscribe(ref, { id: 'nacking', maxInFlight: 10 }, nacking.handler);
    for (let i = 0; i < 30; i++) expect((await backend.append(ref, event(`n${i}`), {})).ok).toBe(true);
    await eventually(() => nacking.handled >= 10, 30_000, 'ten nacks');
    // Ten wait for a redelivery a minute away (MaxAckPending 10 holds the other twenty back).
    await eventually(() => backlogOf(backend, 'nacking') === 30, 30_000, 'a backlog of 30');
  });
});
