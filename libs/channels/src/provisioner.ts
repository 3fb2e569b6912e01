import type { ChannelBackend, ChannelRef } from './backend';

/**
 * Creates and removes the durable stores (Kafka topics, JetStream streams) of channels and brokers:
 * the control plane's side of a store, apart from the data plane's appends and consumers. `settings`
 * are the contract entry's `storeSettings` (partitions, replication, retention, a named topic, stream
 * settings); `remove` is given them too, since they may name the store.
 */
export interface StoreProvisioner {
  /** Creates the store if it does not exist (idempotent); resolves once it can take appends. */
  ensure(store: ChannelRef, settings?: Record<string, unknown>): Promise<void>;
  /** Removes the store and what it holds; removing a store that does not exist is fine. */
  remove(store: ChannelRef, settings?: Record<string, unknown>): Promise<void>;
  /** Closes the clients. */
  close(): Promise<void>;
}

/**
 * A provisioner over a channel backend of this process (standalone: the one its data plane appends
 * to, so removing a store also closes the consumers reading it, and a store named by its settings is
 * found under the name the backend was given when the store was ensured). `closeBackend` says whether
 * `close` closes the backend too (false when the data plane owns it).
 */
export function backendProvisioner(backend: ChannelBackend, closeBackend = false): StoreProvisioner {
  return {
    ensure: (store, settings) => backend.ensureChannel(store, settings),
    remove: (store) => backend.deleteChannel(store),
    close: () => (closeBackend ? backend.close() : Promise.resolve()),
  };
}
