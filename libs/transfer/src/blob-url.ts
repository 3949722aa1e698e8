import { InvalidBlobUrlError } from './errors.js';

export interface ParsedBlobUrl {
  /** `https://<account>.blob.core.windows.net` or, path style, `http://127.0.0.1:10000/<account>`. */
  accountUrl: string;
  account: string;
  container: string;
  /** Percent-decoded, verbatim: `//`, `..` segments and a trailing `/` are part of the name. */
  blobName: string;
}

// Public and sovereign Azure clouds: <account>.blob.<suffix>.
const hostStyle = /^([a-z0-9]{3,24})\.blob\.(core\.windows\.net|core\.chinacloudapi\.cn|core\.usgovcloudapi\.net)$/;
const containerName = /^(\$root|\$web|\$logs|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$/;
const accountName = /^[a-z0-9]{3,24}$/;
// Emulators (Azurite) address the account in the path: http://127.0.0.1:10000/<account>/<container>/<blob>.
const pathStyleHost = /^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;
// Split by hand instead of `new URL`: the WHATWG parser resolves `..` and `%2e%2e` segments, which are
// legitimate parts of a blob name and must survive.
const urlShape = /^(https?):\/\/([^/?#@]+)(\/[^?#]*)?(?:[?#].*)?$/is;

/**
 * Splits an Azure Blob URL into account, container and blob name. Any query (a SAS) is dropped and never
 * appears in an error message.
 */
export function parseBlobUrl(url: string): ParsedBlobUrl {
  const match = urlShape.exec(url.trim());
  if (!match)
    throw new InvalidBlobUrlError('not an http(s) Azure Blob URL: expected https://<account>.blob.core.windows.net/<container>/<blob>');
  const scheme = (match[1] ?? '').toLowerCase();
  const authority = (match[2] ?? '').toLowerCase();
  const rawPath = match[3] ?? '/';
  const shown = `${scheme}://${authority}${rawPath}`;
  const hostname = authority.replace(/:\d+$/, '');

  const segments = rawPath.slice(1).split('/');
  let account: string;
  let accountUrl: string;
  const hostMatch = hostStyle.exec(hostname);
  if (hostMatch) {
    account = hostMatch[1] ?? '';
    accountUrl = `${scheme}://${authority}`;
  } else if (pathStyleHost.test(hostname)) {
    account = segments.shift() ?? '';
    if (!accountName.test(account)) throw new InvalidBlobUrlError(`no valid storage account in the path of emulator URL ${shown}`);
    accountUrl = `${scheme}://${authority}/${account}`;
  } else {
    throw new InvalidBlobUrlError(
      `${shown} is not on an Azure Blob host (<account>.blob.core.windows.net) or an emulator address (127.0.0.1, localhost)`,
    );
  }

  const container = segments.shift() ?? '';
  if (!containerName.test(container)) throw new InvalidBlobUrlError(`no valid container name in ${shown}`);
  const rawBlobName = segments.join('/');
  if (rawBlobName === '') throw new InvalidBlobUrlError(`no blob name in ${shown}`);
  let blobName: string;
  try {
    blobName = decodeURIComponent(rawBlobName);
  } catch {
    throw new InvalidBlobUrlError(`malformed percent-encoding in the blob name of ${shown}`);
  }
  return { accountUrl, account, container, blobName };
}
