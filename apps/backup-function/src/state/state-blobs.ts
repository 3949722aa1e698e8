import type { ContainerClient } from '@azure/storage-blob';

/** Writes a small JSON document to the state container; `ifNoneMatch: '*'` writes it only where none is. */
export async function putJson(container: ContainerClient, name: string, document: unknown, conditions: { ifNoneMatch?: string } = {}) {
  const body = JSON.stringify(document);
  await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
    blobHTTPHeaders: { blobContentType: 'application/json' },
    conditions,
  });
}

/** Reads a JSON document of the state container; undefined when there is none. */
export async function getJson(container: ContainerClient, name: string): Promise<unknown> {
  try {
    return JSON.parse((await container.getBlobClient(name).downloadToBuffer()).toString('utf8')) as unknown;
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

export function isStatus(error: unknown, ...statuses: number[]): boolean {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' && statuses.includes(status);
}
