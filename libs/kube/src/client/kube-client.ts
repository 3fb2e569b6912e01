import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { StringDecoder } from 'node:string_decoder';
import { Agent, type Dispatcher, request } from 'undici';

/** What an API request was for; each has its own counter in `KubeClient.requests`. */
export type RequestPurpose = 'list' | 'watch' | 'get' | 'write';

/** Requests made so far, by purpose (a watch counts once, when it is opened). */
export type RequestCounts = Record<RequestPurpose, number>;

/** One answered API request. The body is parsed JSON (a `Status` on errors), or undefined when empty. */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/** Options of one request. */
export interface RequestOptions {
  purpose: RequestPurpose;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON (a string is sent as is). */
  body?: unknown;
  /** Default `application/json`; patches name theirs. */
  contentType?: string;
  signal?: AbortSignal;
}

/** An open watch stream; abort the signal it was opened with to end it early. */
export interface WatchStream {
  status: number;
  /** The error body when status is not 200. */
  error?: unknown;
  /** Each line (one watch event), as it arrives. */
  lines: AsyncIterable<string>;
}

/** A Kubernetes `Status` object, as the API server returns on errors. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
  metadata?: { continue?: string; resourceVersion?: string };
}

/** A non-2xx answer, with the API server's reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    detail: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}${detail ? `: ${detail}` : ''}`);
    this.name = 'KubeApiError';
  }

  static of(method: string, path: string, response: ApiResponse): KubeApiError {
    const s = (response.body ?? {}) as ApiStatus;
    const detail = s.message ?? (typeof response.body === 'string' ? response.body.trim() : '');
    return new KubeApiError(method, path, response.status, s.reason ?? 'Unknown', detail);
  }
}

/** Options of a KubeClient. */
export interface KubeClientOptions {
  /** Time allowed for the answer of a request that is not a watch. Default 30 s. */
  requestTimeoutMs?: number;
  /** How long credentials from the kubeconfig are reused before being asked for again. Default 10 s. */
  credentialsTtlMs?: number;
  userAgent?: string;
}

/** The JSON content type of a JSON merge patch. */
export const MERGE_PATCH = 'application/merge-patch+json';
/** The content type of a JSON patch (RFC 6902). */
export const JSON_PATCH = 'application/json-patch+json';
/** The content type of a server-side apply. */
export const APPLY_PATCH = 'application/apply-patch+yaml';

/**
 * Raw JSON requests to the API server of a kubeconfig: one connection pool (TLS, proxy and client
 * certificates as the kubeconfig says) and its credentials, refreshed as the kubeconfig's
 * authenticators require. Counts every request it makes by purpose.
 */
export class KubeClient {
  readonly requests: RequestCounts = { list: 0, watch: 0, get: 0, write: 0 };
  private readonly server: string;
  private readonly requestTimeoutMs: number;
  private readonly credentialsTtlMs: number;
  private readonly userAgent: string;
  /** Connection pools dropped because a request or a watch hung (see `resetConnections`). */
  connectionResets = 0;
  private pool: { dispatcher: Dispatcher; generation: number } | undefined;
  private generations = 0;
  private headers: Record<string, string> = {};
  private headersAt = -Infinity;

  constructor(
    private readonly config: KubeConfig,
    options: KubeClientOptions = {},
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current context with a cluster; set current-context');
    this.server = cluster.server.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.credentialsTtlMs = options.credentialsTtlMs ?? 10_000;
    this.userAgent = options.userAgent ?? 'knative-eventing-ts';
  }

  /** Sends one request and reads its whole answer. Rejects only when no answer came (connection, timeout). */
  async request(method: string, path: string, options: RequestOptions): Promise<ApiResponse> {
    this.requests[options.purpose]++;
    const { dispatcher, generation, credentials } = await this.connection();
    const headers: Record<string, string> = { ...credentials, accept: 'application/json' };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    try {
      const response = await request(this.url(path, options.query), {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher,
        signal: options.signal,
        headersTimeout: this.requestTimeoutMs,
        bodyTimeout: this.requestTimeoutMs,
      });
      const text = await response.body.text();
      if (response.statusCode === 401) this.headersAt = -Infinity;
      return { status: response.statusCode, body: parseJson(text) };
    } catch (err) {
      if (isTimeout(err)) this.resetConnections(generation);
      throw err;
    }
  }

  /**
   * Opens a watch (`watch=true` is added to `query`); its lines come as the server sends them until it
   * ends the stream or `signal` aborts it.
   */
  async watch(path: string, query: RequestOptions['query'], signal: AbortSignal): Promise<WatchStream> {
    this.requests.watch++;
    const { dispatcher, generation, credentials } = await this.connection();
    let response: Dispatcher.ResponseData;
    try {
      response = await request(this.url(path, { ...query, watch: true }), {
        method: 'GET',
        headers: { ...credentials, accept: 'application/json' },
        dispatcher,
        signal,
        headersTimeout: this.requestTimeoutMs,
        // Silence on a watch is the caller's watchdog's business, not the connection's.
        bodyTimeout: 0,
      });
    } catch (err) {
      if (isTimeout(err)) this.resetConnections(generation);
      throw err;
    }
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => '');
      if (response.statusCode === 401) this.headersAt = -Infinity;
      return { status: response.statusCode, error: parseJson(text), lines: noLines() };
    }
    return { status: 200, lines: splitLines(response.body) };
  }

  /** Identifies the connection pool requests use now; give it to `resetConnections`. */
  get generation(): number {
    return this.pool?.generation ?? this.generations + 1;
  }

  /**
   * Drops the connection pool of `generation` (if it is still the current one) and everything in
   * flight on it; the next request opens new connections. For a connection that stopped carrying
   * anything: over HTTP/2 every request shares it, and it would otherwise never be given up.
   */
  resetConnections(generation: number): void {
    const pool = this.pool;
    if (pool === undefined || pool.generation !== generation) return;
    this.pool = undefined;
    this.connectionResets++;
    void pool.dispatcher.destroy().catch(() => undefined);
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.dispatcher.close().catch(() => undefined);
  }

  private url(path: string, query: RequestOptions['query']): string {
    let url = this.server + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    return url;
  }

  /**
   * The connection pool (TLS, proxy and client certificates as the kubeconfig says, made by the
   * client library) and the auth headers (bearer token, basic auth, impersonation), asked for again
   * after a TTL so rotated credentials are picked up.
   */
  private async connection(): Promise<{
    dispatcher: Dispatcher;
    generation: number;
    credentials: Record<string, string>;
  }> {
    const now = Date.now();
    if (this.pool === undefined || now - this.headersAt > this.credentialsTtlMs) {
      const ctx = new RequestContext(this.server, HttpMethod.GET);
      await this.config.applySecurityAuthentication(ctx);
      const headers: Record<string, string> = { 'user-agent': this.userAgent };
      for (const [k, v] of Object.entries(ctx.getHeaders())) headers[k.toLowerCase()] = String(v);
      this.headers = headers;
      this.headersAt = now;
      const made = ctx.getDispatcher();
      if (this.pool === undefined)
        this.pool = { dispatcher: made ?? new Agent(), generation: ++this.generations };
      else void made?.close().catch(() => undefined);
    }
    return { dispatcher: this.pool.dispatcher, generation: this.pool.generation, credentials: this.headers };
  }
}

function isTimeout(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function* noLines(): AsyncIterable<string> {}

/** Splits a byte stream into lines (a character split across chunks is decoded whole). */
async function* splitLines(body: AsyncIterable<Buffer>): AsyncIterable<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.write(chunk);
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      const line = pending.slice(start, nl);
      start = nl + 1;
      if (line.length > 0) yield line;
    }
    pending = pending.slice(start);
  }
  if (pending.length > 0) yield pending;
}
