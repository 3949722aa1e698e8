import type { ManagedChild } from '../child-process.js';
import type { Stack } from '../types.js';

/** An S3 endpoint the stack uses, with the one key pair it accepts. */
export interface RunningS3 {
  kind: 's3rver' | 'moto' | 'external';
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  /** What it does with checksums and conditional writes (Stack's `aws.s3Features`). */
  features: Stack['aws']['s3Features'];
  children: ManagedChild[];
  stop(): Promise<void>;
}
