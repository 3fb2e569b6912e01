import { BrokerKind } from './broker';
import type { KindDefinition } from './kind';
import { PingSourceKind } from './pingsource';
import { TriggerKind } from './trigger';

/** Every kind this library defines. */
export const allKinds: readonly KindDefinition[] = [BrokerKind, TriggerKind, PingSourceKind];

/** Looks up the definition for apiVersion/kind, or undefined. */
export function kindFor(apiVersion: string, kind: string): KindDefinition | undefined {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return undefined;
  const group = apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  return allKinds.find((k) => k.kind === kind && k.group === group && k.versions.includes(version));
}
