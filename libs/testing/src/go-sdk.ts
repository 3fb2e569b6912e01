import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { cachedBuild } from './cached-build';

// The official CloudEvents Go SDK (the one upstream Knative and most Go subscribers use), built from
// tools/interop/sdk-go into a cache outside the repository and reused while its sources are unchanged.

const SOURCE_DIR = resolve(__dirname, '../../../tools/interop/sdk-go');
const SOURCE_FILES = ['go.mod', 'go.sum', 'main.go', 'nats.go'];

/** An event as the Go SDK's HTTP receiver read it: every attribute and extension as its exact string. */
export interface GoReceivedEvent {
  attributes: Record<string, string>;
  extensions: Record<string, string>;
  /** The data as text, when it is UTF-8. */
  data?: string;
  /** The exact data bytes, base64. */
  data_base64?: string;
  encoding: 'binary' | 'structured' | 'unknown';
  /** `ce-*` and `content-type` headers as the receiver got them (a non-UTF-8 value as `base64:...`). */
  headers: Record<string, string>;
}

/** A running Go SDK receiver on 127.0.0.1. */
export interface GoReceiver {
  url: string;
  events: GoReceivedEvent[];
  /** Resolves with the events once `count` arrived, or rejects after `timeoutMs` naming how many came. */
  waitFor(count: number, timeoutMs?: number): Promise<GoReceivedEvent[]>;
  close(): Promise<void>;
}

const execFileAsync = promisify(execFile);

/**
 * Path of the built Go SDK interop program, building it on first use (module downloads included,
 * which can take a minute; progress goes to stderr). Needs `go` on PATH and the Go module proxy.
 */
export const goSdkBinary = cachedBuild({
  name: 'sdk-go',
  what: 'the CloudEvents Go SDK interop program',
  downloads: 'Go modules',
  sourceDir: SOURCE_DIR,
  sourceFiles: SOURCE_FILES,
  artifact: 'sdk-go',
  build: async (dir, root) => {
    const tmp = join(dir, `sdk-go.${process.pid}.tmp`);
    const env = {
      ...process.env,
      // -mod=mod fills go.sum entries if any are missing; -modcacherw keeps the module cache removable.
      GOFLAGS: '-mod=mod -modcacherw -buildvcs=false',
      GOMODCACHE: join(root, 'go', 'mod'),
      GOCACHE: join(root, 'go', 'build'),
    };
    try {
      await execFileAsync('go', ['build', '-o', tmp, '.'], { cwd: SOURCE_DIR, env, maxBuffer: 16 << 20 });
    } catch (err) {
      const e = err as { code?: unknown; stderr?: string; message: string };
      if (e.code === 'ENOENT')
        throw new Error('sdk-go: `go` is not on PATH; the Go SDK interop tests need Go');
      throw new Error(`sdk-go: go build failed: ${e.stderr || e.message}`);
    }
    return tmp;
  },
});

/** Starts the Go SDK's HTTP receiver (cloudevents.NewClientHTTP + StartReceiver) on a free port. */
export async function startGoReceiver(): Promise<GoReceiver> {
  const binary = await goSdkBinary();
  const child = spawn(binary, ['receive', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const events: GoReceivedEvent[] = [];
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const port = await new Promise<number>((ready, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { listening?: number } & GoReceivedEvent;
      if (msg.listening !== undefined) ready(msg.listening);
      else events.push(msg);
    });
    child.once('error', fail);
    void exited.then(() => fail(new Error(`sdk-go receive exited before listening: ${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    events,
    waitFor: async (count, timeoutMs = 10_000) => {
      const until = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > until)
          throw new Error(
            `sdk-go receiver: ${events.length} of ${count} events after ${timeoutMs} ms ${stderr}`,
          );
        await new Promise((r) => setTimeout(r, 20));
      }
      return events.slice();
    },
    close: () => stop(child, exited),
  };
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await exited;
}

/**
 * POSTs one event (JSON event format) with the Go SDK's client in binary or structured mode; resolves
 * with the response status. The SDK client sets `time` when the event has none.
 */
export async function goSend(
  url: string,
  event: Record<string, unknown>,
  mode: 'binary' | 'structured',
): Promise<{ status: number; ack: boolean }> {
  const binary = await goSdkBinary();
  try {
    const { stdout } = await execFileAsync(binary, ['send', url, mode, JSON.stringify(event)]);
    return JSON.parse(stdout) as { status: number; ack: boolean };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`sdk-go send failed: ${e.stderr || e.message}`);
  }
}

/** A nats.Msg as the Go SDK's JetStream binding fills or reads it: headers by name, payload bytes. */
export interface GoNatsMsg {
  /** null when the SDK set no header map at all (its structured mode). */
  headers: Record<string, string[]> | null;
  data: Buffer;
}

/** The messages the Go SDK's nats_jetstream WriteMsg fills for one event, or why it refused it. */
export type GoNatsWritten = { binary: GoNatsMsg; structured: GoNatsMsg } | { error: string };

/** An event as the Go SDK's nats_jetstream NewMessage + binding.ToEvent read it (then Event.Validate). */
export interface GoNatsEvent {
  /** Context attributes as the SDK's canonical strings (time in UTC). */
  attributes: Record<string, string>;
  /** Extensions as the SDK holds them: strings from headers; int32 and bool from JSON. */
  extensions: Record<string, string | number | boolean>;
  data?: Buffer;
}

export type GoNatsRead =
  { ok: true; encoding: string; event: GoNatsEvent } | { ok: false; encoding: string; error: string };

async function runGo(mode: 'nats-write' | 'nats-read', input: string): Promise<unknown[]> {
  const binary = await goSdkBinary();
  const run = execFileAsync(binary, [mode], { maxBuffer: 64 << 20 });
  run.child.stdin!.end(input);
  try {
    return JSON.parse((await run).stdout) as unknown[];
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`sdk-go ${mode} failed: ${e.stderr || e.message}`);
  }
}

/**
 * Writes each event (JSON event format text, e.g. a structured body, whose data bytes the SDK keeps)
 * with the Go SDK's NATS JetStream binding in binary and structured mode, as its Sender does. No server.
 */
export async function goNatsWrite(events: Array<string | Buffer>): Promise<GoNatsWritten[]> {
  const out = (await runGo('nats-write', `[${events.map(String).join(',')}]`)) as Array<
    | {
        binary: { headers: GoNatsMsg['headers']; data_base64: string };
        structured: { headers: GoNatsMsg['headers']; data_base64: string };
      }
    | { error: string }
  >;
  const msg = (m: { headers: GoNatsMsg['headers']; data_base64: string }): GoNatsMsg => ({
    headers: m.headers,
    data: Buffer.from(m.data_base64, 'base64'),
  });
  return out.map((r) => ('error' in r ? r : { binary: msg(r.binary), structured: msg(r.structured) }));
}

/** Reads each message with the Go SDK's NATS JetStream binding, as its Receiver does. No server. */
export async function goNatsRead(
  messages: Array<{ headers?: Record<string, string | string[]> | null; data?: Uint8Array }>,
): Promise<GoNatsRead[]> {
  const input = messages.map((m) => ({
    headers:
      m.headers === null || m.headers === undefined
        ? null
        : Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, typeof v === 'string' ? [v] : v])),
    ...(m.data !== undefined ? { data_base64: Buffer.from(m.data).toString('base64') } : {}),
  }));
  const out = (await runGo('nats-read', JSON.stringify(input))) as Array<
    | { ok: true; encoding: string; event: Omit<GoNatsEvent, 'data'> & { data_base64?: string } }
    | { ok: false; encoding: string; error: string }
  >;
  return out.map((r) => {
    if (!r.ok) return r;
    const { data_base64, ...event } = r.event;
    return {
      ok: true,
      encoding: r.encoding,
      event: data_base64 === undefined ? event : { ...event, data: Buffer.from(data_base64, 'base64') },
    };
  });
}
