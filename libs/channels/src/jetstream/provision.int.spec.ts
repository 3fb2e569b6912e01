import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { withNats } from '@eventing/testing';
import { JetStreamChannelBackend } from './jetstream-backend';
import { JetStreamStreamProvisioner } from './provision';

// The control plane's side of JetStream streams, on a real nats-server: created as upstream's
// NatsJetStreamChannel (KN_<NS>__<NAME> on <ns>.<name>._knative), updated to the resource's stream
// config, deleted; a bound stream (overrideName) is never deleted; a data plane told not to create
// streams (CREATE_STORES=false) refuses a missing one with the reason.

describe('JetStreamStreamProvisioner', () => {
  const nats = withNats();
  let nc: Awaited<ReturnType<typeof connect>>;
  let jsm: JetStreamManager;
  let provisioner: JetStreamStreamProvisioner;

  beforeAll(async () => {
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
    provisioner = new JetStreamStreamProvisioner({ servers: [nats.url] });
  });
  afterAll(async () => {
    await provisioner?.close();
    await nc?.close();
  });

  const exists = (name: string) =>
    jsm.streams.info(name).then(
      () => true,
      (err: Error) => {
        if (/stream not found/i.test(err.message)) return false;
        throw err;
      },
    );

  it('creates the stream, updates it to the resource settings, and deletes it', async () => {
    const ref = { namespace: 'prov', name: 'pay-ments' };
    await provisioner.ensure(ref);
    const created = await jsm.streams.info('KN_PROV__PAY_MENTS');
    expect(created.config.subjects).toEqual(['prov.pay-ments._knative']);
    await provisioner.ensure(ref, { stream: { config: { maxAge: '1h' } } });
    expect((await jsm.streams.info('KN_PROV__PAY_MENTS')).config.max_age).toBe(3600e9);
    await provisioner.remove(ref);
    expect(await exists('KN_PROV__PAY_MENTS')).toBe(false);
    await provisioner.remove(ref);
  });

  it('leaves a stream the channel was bound to (spec.stream.overrideName) when the channel goes', async () => {
    await jsm.streams.add({ name: 'SHARED', subjects: ['shared.>'] });
    const ref = { namespace: 'prov', name: 'bound' };
    const settings = { stream: { overrideName: 'SHARED' } };
    await provisioner.ensure(ref, settings);
    expect((await jsm.streams.info('SHARED')).config.subjects).toContain('prov.bound._knative');
    await provisioner.remove(ref, settings);
    expect(await exists('SHARED')).toBe(true);
    await jsm.streams.delete('SHARED');
  });

  it('a backend that does not create streams refuses a missing one with the reason', async () => {
    const backend = new JetStreamChannelBackend({ servers: [nats.url], createStores: false });
    const ref = { namespace: 'prov', name: 'later' };
    try {
      await expect(backend.ensureChannel(ref)).rejects.toThrow(
        'stream KN_PROV__LATER of channel prov/later is not there yet (the control plane creates it)',
      );
      expect(await exists('KN_PROV__LATER')).toBe(false);
      await provisioner.ensure(ref);
      await backend.ensureChannel(ref);
    } finally {
      await backend.close();
      await provisioner.remove(ref);
    }
  });
});
