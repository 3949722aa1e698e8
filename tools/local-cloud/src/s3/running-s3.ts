import type { ManagedChild } from '../child-process.js';

/** An S3 endpoint the stack uses, with the one key pair it accepts. */
export interface RunningS3 {
  kind: 's3rver' | 'moto' | 'external';
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  children: ManagedChild[];
  stop(): Promise<void>;
}
