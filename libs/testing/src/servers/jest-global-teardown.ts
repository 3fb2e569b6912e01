import { SHARED_SERVERS } from './jest-global-setup';

/** Stops the servers jest-global-setup.ts started. */
export default async function teardown(): Promise<void> {
  const servers = (globalThis as Record<symbol, unknown>)[SHARED_SERVERS] as
    Array<{ stop(): Promise<void> }> | undefined;
  await Promise.all((servers ?? []).map((s) => s.stop()));
}
