import type { BenchS3 } from './scenario.js';

// `--s3-endpoint`: an S3 server run outside the bench (another emulator to measure against, as bench/README
// reports for SeaweedFS), with its key pair from the environment so that it never sits in shell history or
// in the results. The local STS hands that pair out, as it does moto's.

export const ACCESS_KEY_VARIABLE = 'BLOBFERRY_BENCH_S3_ACCESS_KEY_ID';
export const SECRET_KEY_VARIABLE = 'BLOBFERRY_BENCH_S3_SECRET_ACCESS_KEY';

/** The local cloud's S3 option for `--s3-endpoint <url>`, or an error that says what to set. */
export function externalS3(endpoint: string, env: Record<string, string | undefined>): BenchS3 {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`--s3-endpoint must be an http(s) URL such as http://127.0.0.1:8333 (got ${JSON.stringify(endpoint)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--s3-endpoint must be an http(s) URL (got ${url.protocol})`);
  const accessKeyId = env[ACCESS_KEY_VARIABLE];
  const secretAccessKey = env[SECRET_KEY_VARIABLE];
  const missing = [accessKeyId ? undefined : ACCESS_KEY_VARIABLE, secretAccessKey ? undefined : SECRET_KEY_VARIABLE].filter(Boolean);
  if (!accessKeyId || !secretAccessKey) throw new Error(`--s3-endpoint needs the endpoint's key pair: set ${missing.join(' and ')}`);
  return { endpoint: url.origin + url.pathname.replace(/\/+$/, ''), accessKeyId, secretAccessKey };
}
