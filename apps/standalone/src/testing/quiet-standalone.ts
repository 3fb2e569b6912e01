import { runStandalone } from '../main';
import { optionsFrom } from '../options';

/** A standalone run in-process by a test, and the lines it printed. */
export interface QuietStandalone {
  app: Awaited<ReturnType<typeof runStandalone>>;
  /** Every line standalone printed so far (status lines and JSON logs at level error). */
  lines: string[];
}

/**
 * Runs standalone in this process on the folder `dir`, as the tests do: on a free port, reading the
 * folder once, JSON logs at level error only, with `args` added (stores' addresses and the like).
 */
export async function startQuietStandalone(dir: string, args: string[] = []): Promise<QuietStandalone> {
  const lines: string[] = [];
  const app = await runStandalone(
    optionsFrom([
      ...['--config', dir, '--port', '0', '--no-watch'],
      ...['--log-format', 'json', '--log-level', 'error'],
      ...args,
    ]),
    (l) => lines.push(l),
  );
  return { app, lines };
}
