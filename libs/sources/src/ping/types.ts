import type { PingSchedule } from '@eventing/contract';

/** What the runner needs of one PingSource: the contract's schedule entry. */
export type PingSpec = PingSchedule;
