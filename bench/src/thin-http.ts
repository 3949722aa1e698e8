import { Sha256 } from '@smithy/core/checksum';
import { escapeUriPath } from '@smithy/core/protocols';
import { SHA256_HEADER, SignatureV4, UNSIGNED_PAYLOAD, getCanonicalQuery } from '@smithy/signature-v4';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

// The thinnest client that still speaks each endpoint's authenticated protocol: node:http with keep-alive, the
// SDK's SigV4 signer for S3 (UNSIGNED-PAYLOAD, as for streamed uploads), a SAS query string for Azure. The limits are
// measured with it, so they show what the endpoints can do, not what an SDK's middleware costs.

export interface ThinResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Body bytes received (the body itself is dropped unless `keepBody`). */
  bytes: number;
  body: string;
}

export function keepAliveAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets });
}

export interface SendOptions {
  agent: Agent;
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  keepBody?: boolean;
}

export function send(o: SendOptions): Promise<ThinResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      o.url,
      {
        method: o.method,
        agent: o.agent,
        headers: { ...o.headers, ...(o.body ? { 'content-length': String(o.body.length) } : { 'content-length': '0' }) },
      },
      (res) => {
        let bytes = 0;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (o.keepBody || (res.statusCode ?? 0) >= 300) chunks.push(chunk);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 300) reject(new Error(`${o.method} ${o.url.pathname} answered ${status}: ${body.slice(0, 300)}`));
          else resolve({ status, headers: res.headers, bytes, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

export interface S3Target {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * A path-style S3 URL and its SigV4 headers, signed by the AWS SDK's own signer (@smithy/signature-v4, with the
 * SHA-256 the S3 client gives it) over UNSIGNED-PAYLOAD, as for streamed uploads: the body is never hashed.
 */
export async function signS3(
  target: S3Target,
  method: string,
  bucketAndKey: string,
  query: Record<string, string> = {},
  now = new Date(),
): Promise<{ url: URL; headers: Record<string, string> }> {
  const endpoint = new URL(target.endpoint);
  const signer = new SignatureV4({
    service: 's3',
    region: target.region,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    sha256: Sha256,
    // S3 signs the path as sent (encoded once), not encoded again as other services want it.
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method,
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: `/${escapeUriPath(bucketAndKey)}`,
      query,
      headers: { host: endpoint.host, [SHA256_HEADER]: UNSIGNED_PAYLOAD },
    },
    { signingDate: now },
  );
  // The query string as signed (sorted, RFC 3986), so the URL sent is the one the signature covers.
  const canonicalQuery = getCanonicalQuery(signed);
  return { url: new URL(`${endpoint.origin}${signed.path}${canonicalQuery ? `?${canonicalQuery}` : ''}`), headers: signed.headers };
}
