import type { ChannelRef } from '../backend';
import type { StoreProvisioner } from '../provisioner';
import { JetStreamChannelBackend, type JetStreamChannelSettings } from './jetstream-backend';
import { streamName } from './naming';

export interface JetStreamProvisionerOptions {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string[];
  /** Connection name the server shows. Default `knative-eventing-controller`. */
  name?: string;
}

/**
 * JetStream streams of channels, created, updated to the resource's `spec.stream.config` and deleted
 * by the control plane: `KN_<NAMESPACE>__<NAME>` on `<namespace>.<name>._knative`, as upstream's
 * NatsJetStreamChannel. A channel bound to an existing stream (`spec.stream.overrideName`) gains its
 * subject there, and that stream is left in place when the channel goes: it was not ours to create.
 */
export class JetStreamStreamProvisioner implements StoreProvisioner {
  private readonly backend: JetStreamChannelBackend;

  constructor(options: JetStreamProvisionerOptions) {
    this.backend = new JetStreamChannelBackend({
      servers: options.servers,
      name: options.name ?? 'knative-eventing-controller',
    });
  }

  /** The stream of a store. */
  streamOf(store: ChannelRef, settings?: Record<string, unknown>): string {
    return (settings as JetStreamChannelSettings | undefined)?.stream?.overrideName || streamName(store);
  }

  ensure(store: ChannelRef, settings?: Record<string, unknown>): Promise<void> {
    return this.backend.ensureChannel(store, settings as JetStreamChannelSettings | undefined);
  }

  async remove(store: ChannelRef, settings?: Record<string, unknown>): Promise<void> {
    if ((settings as JetStreamChannelSettings | undefined)?.stream?.overrideName) return;
    await this.backend.deleteChannel(store);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}
