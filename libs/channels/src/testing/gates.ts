import type { Ack } from '../backend';

/** A handler that holds every message until `open()`, then settles it with `answer()`. */
export interface Gate {
  open(): void;
  /** Messages the handler has settled so far. */
  readonly handled: number;
  handler(): Promise<Ack>;
}

/**
 * Gates for backend tests: `gate()` makes a held handler; `openAll()` (after each test, whatever
 * happened) releases every gate made since, so closing a backend never waits on a held handler.
 */
export function gates(): { gate(answer?: () => Ack): Gate; openAll(): void } {
  const opens: Array<() => void> = [];
  return {
    gate(answer = () => 'ack') {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      opens.push(() => open());
      let handled = 0;
      return {
        open,
        get handled() {
          return handled;
        },
        handler: async () => {
          await opened;
          handled++;
          return answer();
        },
      };
    },
    openAll() {
      for (const open of opens.splice(0)) open();
    },
  };
}
