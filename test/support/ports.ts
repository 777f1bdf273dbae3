// Free TCP ports for test servers: bind 127.0.0.1:0, read what the kernel chose, close.
// A port found this way can in principle be taken by someone else before the server binds it;
// callers that start a server retry on "address in use" rather than trusting the port blindly.
import { createServer, type AddressInfo } from 'node:net';

/** One free port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `count` distinct free ports on 127.0.0.1. All are held open together so the kernel cannot hand
 * out the same one twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
          }),
      ),
    );
    const ports = servers.map((server) => (server.address() as AddressInfo).port);
    if (new Set(ports).size !== ports.length) throw new Error(`freePorts: duplicate ports ${ports.join(',')}`);
    return ports;
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))),
    );
  }
}
