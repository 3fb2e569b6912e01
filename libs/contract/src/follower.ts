import type { Contract } from './contract';
import { watchContractFile } from './io';

/** Receives what a contract follower does, for logs. */
export interface FollowerLog {
  info(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/**
 * Keeps a value derived from the contract file up to date: `build` runs once per new contract
 * generation, and `current` is what the per-event path reads. A bad document keeps the last good value.
 */
export class ContractFollower<T> {
  private value: T;
  private loaded = false;
  private readonly watcher: { close(): void };

  constructor(path: string, build: (contract: Contract) => T, empty: T, log: FollowerLog) {
    this.value = empty;
    this.watcher = watchContractFile(
      path,
      (contract) => {
        this.value = build(contract);
        this.loaded = true;
        log.info(
          {
            generation: contract.generation,
            brokers: contract.brokers.length,
            triggers: contract.triggers.length,
          },
          'contract applied',
        );
      },
      (err) => log.error({ error: err.message }, 'contract rejected; keeping the previous one'),
    );
  }

  get current(): T {
    return this.value;
  }

  /** Readiness: true once a valid contract was applied. */
  readiness(): { ready: boolean; reason?: string } {
    return this.loaded ? { ready: true } : { ready: false, reason: 'no valid contract loaded yet' };
  }

  close(): void {
    this.watcher.close();
  }
}
