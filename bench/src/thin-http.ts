import { createHash, createHmac } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

// The thinnest client that still speaks each endpoint's authenticated protocol: node:http with keep-alive, a
// SigV4 signer for S3 (UNSIGNED-PAYLOAD, as for streamed uploads), a SAS query string for Azure. The limits are
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

export function send(o: {
  agent: Agent;
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  keepBody?: boolean;
}): Promise<ThinResponse> {
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

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text).digest();

/** RFC 3986 encoding as SigV4 wants it (slashes kept in paths). */
function encodeRfc3986(text: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

export interface S3Target {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A path-style S3 URL and its SigV4 headers (UNSIGNED-PAYLOAD). */
export function signS3(
  target: S3Target,
  method: string,
  bucketAndKey: string,
  query: Record<string, string> = {},
  now = new Date(),
): { url: URL; headers: Record<string, string> } {
  const url = new URL(target.endpoint);
  const path = `/${encodeRfc3986(bucketAndKey, true)}`;
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((name) => `${encodeRfc3986(name, false)}=${encodeRfc3986(query[name] ?? '', false)}`)
    .join('&');
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-amz-date': amzDate,
  };
  const signedHeaders = Object.keys(headers).sort().join(';');
  const canonicalHeaders = Object.keys(headers)
    .sort()
    .map((name) => `${name}:${headers[name]}\n`)
    .join('');
  const canonicalRequest = [method, path, canonicalQuery, canonicalHeaders, signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
  const scope = `${day}/${target.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${target.secretAccessKey}`, day), target.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${target.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { url: new URL(`${url.origin}${path}${canonicalQuery ? `?${canonicalQuery}` : ''}`), headers };
}
