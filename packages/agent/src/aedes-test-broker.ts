import net from 'node:net';
import { Aedes } from 'aedes';

/** A throwaway in-process MQTT broker on a random port, for integration tests and benchmarks. */
export interface TestBroker {
  readonly url: string;
  readonly aedes: Aedes;
  /** Client ids with a live MQTT session. */
  readonly connected: ReadonlySet<string>;
  close(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  const aedes = await Aedes.createBroker();
  const connected = new Set<string>();
  aedes.on('client', (client) => connected.add(client.id));
  aedes.on('clientDisconnect', (client) => connected.delete(client.id));
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    aedes,
    connected,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
