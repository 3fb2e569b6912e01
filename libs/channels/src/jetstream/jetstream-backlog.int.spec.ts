// What `backlog()` of JetStreamChannelBackend reports on a real nats-server: a stuck subscriber's
// undelivered and unacknowledged messages, growing while it stays stuck, and 0 once released.
import type { CloudEvent } from '@eventing/cloudevents';
import { eventually, withNats } from '@eventing/testing';
import type { ChannelRef } from '../backend';
import { gates } from '../testing/gates';
import { JetStreamChannelBackend } from './jetstream-backend';

jest.setTimeout(120_000);

const nats = withNats();
let n = 0;
const channel = (): ChannelRef => ({ namespace: 'backlog', name: `c${n++}-${process.pid}` });

const event = (id: string): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/jetstream-backlog', type: 'jetstream.backlog.test' },
  data: Buffer.from(id),
});

// Opened after each test whatever happened, so that closing never waits on a held handler.
const { gate, openAll } = gates();

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
    openAll();
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

  it('takes the pending count from the messages it receives, asking JetStream nothing while they come', async () => {
    // Asked once at the first read (nothing received yet), then not again within the test.
    const backend = new JetStreamChannelBackend({ servers: [nats.url], backlogRefreshMs: 600_000 });
    backends.push(backend);
    const ref = channel();
    await backend.ensureChannel(ref);
    let appended!: () => void;
    const all = new Promise<void>((resolve) => (appended = resolve));
    let release!: () => void;
    const tenth = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    await backend.subscribe(ref, { id: 'reader', maxInFlight: 1 }, async () => {
      handled++;
      if (handled === 1) await all;
      if (handled === 10) await tenth;
      return 'ack';
    });
    expect(backlogOf(backend, 'reader')).toBe(0);
    try {
      for (let i = 0; i < 50; i++) expect((await backend.append(ref, event(`r${i}`), {})).ok).toBe(true);
      appended();
      // MaxAckPending 1: the tenth message came with 40 behind it, and is held.
      await eventually(() => handled === 10, 30_000, 'the tenth message');
      await eventually(() => backlogOf(backend, 'reader') === 41, 10_000, 'a backlog of 41');
    } finally {
      appended();
      release();
    }
    await eventually(() => backlogOf(backend, 'reader') === 0, 30_000, 'the backlog to fall to 0');
    expect(handled).toBe(50);
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
