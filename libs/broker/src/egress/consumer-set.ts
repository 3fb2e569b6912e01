import type { Ack, ChannelBackend, ChannelMessage, ChannelRef, Consumer } from '@eventing/channels';

/** One consumer wanted on a channel: an id, where it reads, and the configuration its handler uses. */
export interface ConsumerSpec<C> {
  uid: string;
  channel: ChannelRef;
  maxInFlight: number;
  config: C;
}

interface ConsumerState<C> {
  config: C;
  channelKey: string;
  consumer?: Consumer;
}

/**
 * Keeps one backend consumer per spec running. A changed configuration is swapped in place (queued
 * events stay and use the new one); a consumer moves only when its channel changes.
 */
export class ConsumerSet<C> {
  private readonly states = new Map<string, ConsumerState<C>>();

  constructor(
    private readonly backend: ChannelBackend,
    private readonly handle: (config: C, message: ChannelMessage) => Promise<Ack>,
  ) {}

  /** Makes the running consumers match `specs`. */
  async apply(specs: readonly ConsumerSpec<C>[]): Promise<void> {
    const wanted = new Set<string>();
    for (const spec of specs) {
      wanted.add(spec.uid);
      const channelKey = `${spec.channel.namespace}/${spec.channel.name}`;
      const current = this.states.get(spec.uid);
      if (current && current.channelKey === channelKey && current.consumer) {
        current.config = spec.config;
        continue;
      }
      if (current?.consumer) await current.consumer.close();
      const state: ConsumerState<C> = { config: spec.config, channelKey };
      this.states.set(spec.uid, state);
      state.consumer = await this.backend.subscribe(
        spec.channel,
        { id: spec.uid, maxInFlight: spec.maxInFlight },
        (message) => this.handle(state.config, message),
      );
    }
    for (const [uid, state] of this.states) {
      if (wanted.has(uid)) continue;
      this.states.delete(uid);
      await state.consumer?.close();
    }
  }

  /** Forgets the consumers of a channel the backend already closed (channel deleted). */
  forgetChannel(channel: ChannelRef): void {
    const key = `${channel.namespace}/${channel.name}`;
    for (const [uid, state] of this.states) if (state.channelKey === key) this.states.delete(uid);
  }

  async close(): Promise<void> {
    const closing = [...this.states.values()].map((s) => s.consumer?.close());
    this.states.clear();
    await Promise.all(closing);
  }
}
