import { KubeConfig } from '@kubernetes/client-node';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy to a local port whose open connections can be frozen: they stay open but carry nothing
 * more either way, as a connection does across a network partition or a dead load balancer. New
 * connections are forwarded as usual.
 */
export class FreezableProxy {
  /** Connections accepted so far. */
  connections = 0;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly server: Server;
  private port_ = 0;

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      this.connections++;
      client.pipe(upstream);
      upstream.pipe(client);
      const drop = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
  }

  /** The loopback port it listens on. */
  get port(): number {
    return this.port_;
  }

  /** Listens on a free loopback port, forwarding to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number): Promise<FreezableProxy> {
    const proxy = new FreezableProxy(targetPort);
    await new Promise<void>((done) => proxy.server.listen(0, '127.0.0.1', done));
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy: no port');
    proxy.port_ = address.port;
    return proxy;
  }

  /** Stops forwarding on every connection open now, without closing them. */
  freezeOpenConnections(): void {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Closes every connection and stops listening. */
  async close(): Promise<void> {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

/** A KubeConfig from `file` whose cluster is reached through `127.0.0.1:<port>` instead. */
export function kubeconfigVia(file: string, port: number): KubeConfig {
  const original = new KubeConfig();
  original.loadFromFile(file);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: original.getClusters().map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    contexts: original.getContexts(),
    users: original.getUsers(),
    currentContext: original.getCurrentContext(),
  });
  return kc;
}
