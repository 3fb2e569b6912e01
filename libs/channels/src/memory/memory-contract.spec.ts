import { MemoryChannelBackend } from './memory-backend';
import { describeChannelBackend } from '../testing/backend-contract';

let n = 0;
describeChannelBackend('memory', {
  durable: false,
  create: async () => {
    const backend = new MemoryChannelBackend({ nackDelayMs: 50 });
    return { backend, close: () => backend.close() };
  },
  channel: () => ({ namespace: 'contract', name: `c${n++}` }),
});
