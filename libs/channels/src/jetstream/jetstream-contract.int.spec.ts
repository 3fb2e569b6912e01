import { withNats } from '@eventing/testing';
import { describeChannelBackend } from '../testing/backend-contract';
import { JetStreamChannelBackend } from './jetstream-backend';

// The ChannelBackend contract on a real nats-server (one for this file, JetStream file storage).
jest.setTimeout(30_000);

const nats = withNats();
let n = 0;
describeChannelBackend('jetstream', {
  durable: true,
  create: async () => {
    const backend = new JetStreamChannelBackend({ servers: [nats.url], nackDelayMs: 50 });
    return { backend, close: () => backend.close() };
  },
  channel: () => ({ namespace: 'contract', name: `c${n++}` }),
  timeoutMs: 20_000,
});
