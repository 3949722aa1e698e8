import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

// Node lower-cases the names in `request.headers`; Azure keeps the case of metadata names (`x-ms-meta-<name>`),
// and Azurite reads it from the raw headers. A proxy in front of Azurite forwards those names as the client
// spelled them, so a blob written through it keeps its metadata names' case as it would on Azure.

const METADATA_HEADER = /^x-ms-meta-/i;

/** `headers` with each `x-ms-meta-*` name spelled as in `rawHeaders` (a request's, or another list of name, value pairs). */
export function spelledHeaders(headers: IncomingHttpHeaders, rawHeaders: readonly string[]): OutgoingHttpHeaders {
  const spelling = new Map<string, string>();
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? '';
    if (METADATA_HEADER.test(name)) spelling.set(name.toLowerCase(), name);
  }
  const spelled: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) spelled[spelling.get(name) ?? name] = value;
  return spelled;
}
