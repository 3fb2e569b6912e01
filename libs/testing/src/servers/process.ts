import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// What the Kafka, NATS and Kubernetes harnesses share: running the installers in tools/test-servers,
// free ports, and server processes run under tools/test-servers/keeper.mjs, which SIGKILLs the server
// as soon as this process is gone however it ended (Jest runs tests in a sandbox whose `process.on('exit')` never
// fires, so the keeper is what guarantees that no server outlives its test worker).

const TOOLS_DIR = resolve(__dirname, '../../../../tools/test-servers');
const KEEPER = join(TOOLS_DIR, 'keeper.mjs');

const installs = new Map<string, Promise<string>>();

/**
 * Runs `tools/test-servers/<name>/install.mjs` (which installs into the user cache on first use and
 * prints progress on stderr) and resolves with the path it prints.
 */
export function installServer(name: 'kafka' | 'nats' | 'kube' | 'prometheus'): Promise<string> {
  let pending = installs.get(name);
  if (!pending) {
    pending = new Promise<string>((done, fail) => {
      const script = join(TOOLS_DIR, name, 'install.mjs');
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      // Progress lines go on to our stderr as they come: a first install takes a while.
      child.stderr.setEncoding('utf8').on('data', (s: string) => {
        stderr += s;
        process.stderr.write(s);
      });
      child.once('error', fail);
      child.once('close', (code) => {
        if (code === 0) done(stdout.trim());
        else fail(new Error(`${name}: installing the test server failed (exit ${code}): ${stderr.trim()}`));
      });
    });
    pending.catch(() => installs.delete(name));
    installs.set(name, pending);
  }
  return pending;
}

const handedOut = new Set<number>();

/**
 * `count` distinct free TCP ports on 127.0.0.1, none handed out before by this process (a port freed
 * here may be the next the OS gives, and a JVM binds its ports seconds after they were picked).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    while (ports.length < count) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => done());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      if (handedOut.has(address.port)) continue;
      handedOut.add(address.port);
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  }
}

/** Resolves true once something accepts TCP connections on 127.0.0.1:`port`, false if refused now. */
export function acceptsTcp(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Where a server's output goes and what the keeper removes when the test process dies. */
export interface ServerFiles {
  /** The server's own temp folder (config and data). */
  dir: string;
  /** The file its stdout and stderr are appended to. */
  log: string;
}

/** One run of a server process (a restart makes a new one), with its keeper. */
export class ServerProcess {
  private readonly child: ChildProcess;
  /** Resolves when the server (and its keeper) has exited. */
  readonly exited: Promise<void>;
  private done = false;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    private readonly files: ServerFiles,
  ) {
    const out = openSync(files.log, 'a');
    try {
      // A group leader, so stop() and kill() signal the server itself, not only the keeper.
      this.child = spawn(process.execPath, [KEEPER, '--remove-on-orphan', files.dir, '--', cmd, ...args], {
        stdio: ['pipe', out, out],
        detached: true,
      });
    } finally {
      closeSync(out);
    }
    this.exited = new Promise((done) => this.child.once('exit', () => done()));
    void this.exited.then(() => {
      this.done = true;
      running.delete(this);
    });
    running.add(this);
    // Neither the server nor the pipe that keeps the keeper waiting holds this process open.
    this.child.unref();
    (this.child.stdin as unknown as { unref(): void }).unref();
  }

  /** True until the process has exited. */
  get running(): boolean {
    return !this.done;
  }

  /** Sends `signal` to the server and its keeper. */
  signal(signal: NodeJS.Signals): void {
    if (this.done || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGKILLs the server now, as a crash would (through the keeper, which exits once it is reaped). */
  kill(): void {
    if (this.done || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, 'SIGUSR2');
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.done) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** The last `lines` lines of the server's log. */
  logTail(lines = 40): string {
    return logTail(this.files.log, lines);
  }

  /**
   * Polls `ready()` until it resolves true; rejects with the log's tail when the server exits first
   * or `timeoutMs` passes. A bind failure rejects with a `PortTakenError`.
   */
  async waitReady(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.done) {
        const log = existsSync(this.files.log) ? readFileSync(this.files.log, 'utf8') : '';
        if (/address already in use/i.test(log)) throw new PortTakenError(`${this.name}: a port was taken`);
        throw new Error(`${this.name} exited while starting:\n${this.logTail()}`);
      }
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) {
        await this.stop(2_000);
        throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.logTail()}`);
      }
      await sleep(50);
    }
  }
}

/** A port picked as free was bound by someone else before the server could bind it. */
export class PortTakenError extends Error {}

/**
 * Installs the test server `name` (on first use), then resolves with `startOnce(installed path)`,
 * started again on new ports when a port picked as free was taken before the server bound it (three
 * attempts).
 */
export async function startInstalled<T>(
  name: Parameters<typeof installServer>[0],
  startOnce: (installed: string) => Promise<T>,
): Promise<T> {
  const installed = await installServer(name);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(installed);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
    }
  }
}

/** What a test does with a server it started: stop, crash, restart, read its log. */
export interface ServerControls {
  /** SIGTERM (SIGKILL after a grace period), then removes its folder. */
  stop(): Promise<void>;
  /** SIGKILLs the server now, as a crash would; its data stays for `restart()`. */
  kill(): void;
  /** Stops the server (if it still runs) and starts it again on the same ports and data. */
  restart(): Promise<void>;
  /** The last lines of its log. */
  logTail(lines?: number): string;
}

/** The controls of a server that `launch()` starts (once now, again on each restart) in `dir`. */
export async function launchServer(
  launch: () => Promise<ServerProcess>,
  dir: string,
): Promise<ServerControls> {
  let proc = await launch();
  return {
    stop: async () => {
      await proc.stop();
      removeServerDir(dir);
    },
    kill: () => proc.kill(),
    restart: async () => {
      await proc.stop();
      proc = await launch();
    },
    logTail: (lines) => proc.logTail(lines),
  };
}

const running = new Set<ServerProcess>();
const serverDirs = new Set<string>();

/** A new temp folder for a server, removed by removeServerDir or when this process exits. */
export function makeServerDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  serverDirs.add(dir);
  return dir;
}

/** Removes a server's temp folder. */
export function removeServerDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  serverDirs.delete(dir);
}

// Outside Jest (benchmarks, scripts) this ends servers at once on exit; under Jest the keeper does.
process.on('exit', () => {
  for (const server of running) server.signal('SIGKILL');
  for (const dir of serverDirs) rmSync(dir, { recursive: true, force: true });
});

function logTail(path: string, lines: number): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
