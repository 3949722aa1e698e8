import type { Server } from 'node:http';

/** Stops an HTTP server now: keep-alive connections (SDK clients hold them) would otherwise delay close. */
export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
