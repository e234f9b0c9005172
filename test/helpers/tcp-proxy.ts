import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A TCP proxy a test can silence; see {@link startTcpProxy}. */
export interface TcpProxy {
  /** `127.0.0.1:<port>`: where clients connect instead of the target. */
  address: string;
  /**
   * From now on nothing passes either way and nothing is closed: requests already sent and new ones
   * wait for answers that never come (a network partition, as the client sees it).
   */
  hold(): void;
  close(): Promise<void>;
}

/** Forwards every connection made to an ephemeral port of 127.0.0.1 to `host:port`, until {@link TcpProxy.hold}. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  let holding = false;
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('error', () => s.destroy()).on('close', () => sockets.delete(s));
  };
  const silence = ([client, upstream]: [Socket, Socket]) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const server = createServer((client) => {
    track(client);
    if (holding) {
      client.pause();
      return;
    }
    const upstream = connect(port, host);
    track(upstream);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold() {
      holding = true;
      for (const pair of pairs) silence(pair);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
