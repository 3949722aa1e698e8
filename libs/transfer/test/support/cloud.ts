import { startTemporaryCloud } from './temporary-cloud.js';
import type { CloudEndpoints } from './clients.js';

export type S3Flavour = 's3rver' | 'moto';

export interface TestCloud {
  stack: CloudEndpoints;
  stop(): Promise<void>;
}

export async function startCloud(s3: S3Flavour): Promise<TestCloud> {
  return startTemporaryCloud({ s3 });
}

export const s3Flavours: S3Flavour[] = ['s3rver', 'moto'];
