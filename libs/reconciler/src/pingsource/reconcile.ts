import { PingSourceConditionSet, type PingSource, type PingSourceStatus } from '@eventing/api';
import type { PingSchedule } from '@eventing/contract';
import type { AddressResolver } from '../resolver/address-resolver';
import { markObserved, type Observation } from '../observation/observation';

/** Conditions of a PingSource (CONFORMANCE 1.1). */
export const pingSourceConditions = PingSourceConditionSet;

export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

export interface PingSourceResult {
  status: PingSourceStatus;
  schedule?: PingSchedule;
}

/** Computes a PingSource's status (sink, ceAttributes, conditions) and its schedule when ready. */
export function reconcilePingSource(
  source: PingSource,
  resolver: AddressResolver,
  observed: Observation = { status: 'True' },
): PingSourceResult {
  const { namespace = 'default', name = '', uid = '' } = source.metadata;
  let conds = pingSourceConditions.initialize(source.status?.conditions ?? []);
  const status: PingSourceStatus = {
    observedGeneration: source.metadata.generation ?? 1,
    ceAttributes: [{ type: PING_EVENT_TYPE, source: `/apis/v1/namespaces/${namespace}/pingsources/${name}` }],
  };
  conds = pingSourceConditions.markTrue(conds, 'OIDCIdentityCreated', 'authentication-oidc feature disabled');
  const sink = resolver.resolve(source.spec.sink, namespace);
  if (!sink.ok) {
    conds = pingSourceConditions.markFalse(conds, 'SinkProvided', 'NotFound', sink.reason);
    conds = pingSourceConditions.markUnknown(conds, 'Deployed', 'SinkNotResolved', 'waiting for the sink');
    status.conditions = conds;
    return { status };
  }
  status.sinkUri = sink.uri;
  conds = pingSourceConditions.markTrue(conds, 'SinkProvided');
  // Deployed reports what the scheduler did with the last schedule it was given.
  conds =
    observed.status === 'True'
      ? pingSourceConditions.markTrue(conds, 'Deployed', 'Scheduled', 'scheduled by the ping runner')
      : markObserved(pingSourceConditions, conds, 'Deployed', observed);
  status.conditions = conds;
  const spec = source.spec;
  const schedule: PingSchedule = {
    uid,
    namespace,
    name,
    schedule: spec.schedule ?? '* * * * *',
    sinkUri: sink.uri,
  };
  if (spec.timezone) schedule.timezone = spec.timezone;
  if (spec.contentType) schedule.contentType = spec.contentType;
  if (spec.data !== undefined) schedule.data = spec.data;
  if (spec.dataBase64 !== undefined) schedule.dataBase64 = spec.dataBase64;
  if (spec.ceOverrides) schedule.ceOverrides = spec.ceOverrides;
  return { status, schedule };
}
