import type { IncomingHttpHeaders } from 'node:http';

// A proxy passes on end-to-end headers only (RFC 9110, section 7.6.1). moto's server answers every request with
// `Connection: close`; passed on, it would close each client connection after one request, where Amazon S3 keeps
// a client's connections open, so every request through the gateway would pay a new TCP connection.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** `headers` without the hop-by-hop ones, nor those the `Connection` header names. */
export function endToEndHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const namedByConnection = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase()),
  );
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !namedByConnection.has(name)) kept[name] = value;
  }
  return kept;
}
