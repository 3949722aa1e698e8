import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { closeServer } from './close-server.js';

// An HTTP server that can stop listening and listen again on the same port, as an endpoint that goes dead
// and comes back: while it is off, nothing listens on its port, so clients get ECONNREFUSED, and the
// connections it had are cut.

export interface SwitchableServer {
  /** Listens on `port` (0: a free one); resolves with the endpoint, `http://127.0.0.1:PORT`. */
  listen(port: number): Promise<string>;
  /** Stops accepting connections and cuts the open ones. */
  stopListening(): void;
  /** Listens again on the same port (retrying while something else holds it). */
  resumeListening(): Promise<void>;
  close(): Promise<void>;
}

const RELISTEN_RETRY_MS = 100;

function listenOn(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', failed);
      resolve();
    });
  });
}

export function switchableServer(server: Server, log: (entry: Record<string, unknown>) => void): SwitchableServer {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let port = 0;
  let closed = false;
  const cutConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    async listen(wanted) {
      await listenOn(server, wanted);
      port = (server.address() as AddressInfo).port;
      return `http://127.0.0.1:${port}`;
    },
    stopListening() {
      if (server.listening) server.close();
      cutConnections();
    },
    async resumeListening() {
      while (!closed && !server.listening) {
        try {
          await listenOn(server, port);
        } catch (error) {
          // The port was free while nothing listened: an outgoing connection may hold it for a moment.
          log({ level: 'warn', msg: 'cannot listen again yet', port, error: (error as Error).message });
          await new Promise((resolve) => setTimeout(resolve, RELISTEN_RETRY_MS));
        }
      }
    },
    async close() {
      closed = true;
      if (server.listening) await closeServer(server);
      cutConnections();
    },
  };
}
