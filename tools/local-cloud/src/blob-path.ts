/** `/<account>/<container>/<blob name>` (Azurite's path style); undefined for account and container requests. */
export function blobPath(url: URL): { container: string; blobName: string } | undefined {
  const match = /^\/[^/]+\/([^/]+)\/(.+)$/s.exec(url.pathname);
  if (!match) return undefined;
  try {
    return { container: decodeURIComponent(match[1] ?? ''), blobName: decodeURIComponent(match[2] ?? '') };
  } catch {
    return undefined;
  }
}
