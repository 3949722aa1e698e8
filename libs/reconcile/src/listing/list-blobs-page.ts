import { createHttpHeaders, createPipelineRequest, RestError, type PipelineResponse } from '@azure/core-rest-pipeline';
import type { ContainerClient } from '@azure/storage-blob';
import type { SourceBlob } from './source-listing.js';

// One page of List Blobs, read without the SDK's generic XML deserializer: its validating parse and its
// mappers over every property of every blob were most of `blobferry verify`'s CPU, where verify reads five
// fields. The request still goes through the container client's own pipeline, so the credential, the retry
// policy and the user agent are the SDK's.

/** The service version the SDK itself speaks (@azure/storage-blob 12.34.0). */
const SERVICE_VERSION = '2026-10-06';

export interface BlobsPage {
  blobs: SourceBlob[];
  /** BlobPrefix names, with `delimiter`. */
  prefixes: string[];
  /** The marker for the next page; undefined on the last. */
  nextMarker: string | undefined;
}

interface PipelineSender {
  sendRequest(request: ReturnType<typeof createPipelineRequest>): Promise<PipelineResponse>;
}

/**
 * The container client's core-client ServiceClient: a protected member of the SDK's StorageClient, so a
 * change of SDK that moves it fails loudly here (and in the Azurite tests) instead of losing the listing.
 */
function pipelineOf(container: ContainerClient): PipelineSender {
  const context = (container as unknown as { storageClientContext?: Partial<PipelineSender> }).storageClientContext;
  if (typeof context?.sendRequest !== 'function')
    throw new Error('@azure/storage-blob no longer exposes its pipeline as storageClientContext; update listing/list-blobs-page.ts');
  return context as PipelineSender;
}

export interface ListBlobsPageOptions {
  prefix: string;
  delimiter?: string;
  marker?: string;
  maxResults: number;
  /** Also list each blob's metadata and index tags (include=metadata,tags). */
  properties?: boolean;
}

/** Lists one page (at most `maxResults` entries) of the blobs under `prefix`, after `marker`. */
export async function listBlobsPage(container: ContainerClient, o: ListBlobsPageOptions, abortSignal?: AbortSignal): Promise<BlobsPage> {
  const query: Array<[string, string | undefined]> = [
    ['restype', 'container'],
    ['comp', 'list'],
    ['prefix', o.prefix || undefined],
    ['delimiter', o.delimiter],
    ['marker', o.marker],
    ['maxresults', String(o.maxResults)],
    ['include', o.properties ? 'metadata,tags' : undefined],
  ];
  // encodeURIComponent, as the SDK writes its query: URLSearchParams' form encoding ('+' for a space, '%21' for
  // '!') is not what the shared-key signature canonicalizes, and Azure then refuses the signature. A client
  // made from a SAS URL already carries a query (the SAS), which the listing's parameters join.
  const url = new URL(container.url);
  const listing = query.flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${encodeURIComponent(value)}`])).join('&');
  url.search = url.search ? `${url.search}&${listing}` : `?${listing}`;
  const request = createPipelineRequest({
    url: url.toString(),
    method: 'GET',
    headers: createHttpHeaders({ 'x-ms-version': SERVICE_VERSION, accept: 'application/xml' }),
    allowInsecureConnection: url.protocol === 'http:',
    ...(abortSignal ? { abortSignal } : {}),
  });
  const response = await pipelineOf(container).sendRequest(request);
  const body = response.bodyAsText ?? '';
  if (response.status !== 200) throw serviceError(response, body);
  return parseBlobsPage(body);
}

/** The RestError the SDK would throw for this answer: status, the service's error code and its message. */
function serviceError(response: PipelineResponse, body: string): RestError {
  const code = response.headers.get('x-ms-error-code') ?? elementText(body, 'Code', 0, body.length);
  const message = elementText(body, 'Message', 0, body.length)?.split('\n', 1)[0] ?? `the service answered ${response.status}`;
  return new RestError(message, { statusCode: response.status, request: response.request, response, ...(code ? { code } : {}) });
}

/**
 * Reads an EnumerationResults document: each Blob's name, the four properties verify compares, its type
 * and tier, and (when listed) its metadata and tags.
 */
export function parseBlobsPage(xml: string): BlobsPage {
  if (!xml.includes('<EnumerationResults'))
    throw new Error(`List Blobs answered something other than EnumerationResults: ${xml.slice(0, 200)}`);
  const blobs: SourceBlob[] = [];
  const prefixes: string[] = [];
  for (let at = xml.indexOf('<Blob', 0); at >= 0; at = xml.indexOf('<Blob', at)) {
    const open = xml.indexOf('>', at);
    const tag = xml.slice(at + 1, open);
    // `<Blobs>` is the list itself; only `<Blob>` and `<BlobPrefix>` are entries.
    if (tag === 'Blob') {
      const end = requireIndex(xml, '</Blob>', open);
      // Read within its own slice (a view, not a copy): a search for what the entry lacks (Metadata, Tags,
      // Content-MD5) then ends with the entry instead of running on through the rest of the page.
      const entry = xml.slice(open, end);
      blobs.push(blobEntry(entry, 0, entry.length));
      at = end;
    } else if (tag === 'BlobPrefix') {
      const end = requireIndex(xml, '</BlobPrefix>', open);
      prefixes.push(detached(nameOf(xml, open, end)));
      at = end;
    } else {
      at = open;
    }
  }
  const nextMarker = elementText(xml, 'NextMarker', xml.lastIndexOf('</Blobs>') + 1, xml.length);
  return { blobs, prefixes, nextMarker: nextMarker || undefined };
}

function blobEntry(xml: string, from: number, to: number): SourceBlob {
  const name = nameOf(xml, from, to);
  const properties = requireIndex(xml, '<Properties>', from);
  const etag = elementText(xml, 'Etag', properties, to);
  const lastModified = elementText(xml, 'Last-Modified', properties, to);
  if (etag === undefined || lastModified === undefined)
    throw new Error(`List Blobs entry for ${JSON.stringify(name)} has no Etag or Last-Modified`);
  const md5 = elementText(xml, 'Content-MD5', properties, to);
  const blobType = elementText(xml, 'BlobType', properties, to);
  const accessTier = elementText(xml, 'AccessTier', properties, to);
  const metadata = childrenOf(xml, 'Metadata', from, to);
  const tags = tagsOf(xml, from, to);
  return {
    name: detached(name),
    etag: detached(etag),
    size: Number(elementText(xml, 'Content-Length', properties, to) ?? 0),
    md5Base64: md5 ? detached(md5) : undefined,
    lastModified: new Date(lastModified),
    ...(blobType ? { blobType: detached(blobType) } : {}),
    ...(accessTier ? { accessTier: detached(accessTier) } : {}),
    ...(metadata ? { metadata } : {}),
    ...(tags ? { tags } : {}),
  };
}

/** The child elements of `<tag>` (Metadata: `<Name>value</Name>` each) as a record, or undefined when there is no such element. */
function childrenOf(xml: string, tag: string, from: number, to: number): Record<string, string> | undefined {
  const open = xml.indexOf(`<${tag}`, from);
  if (open < 0 || open > to) return undefined;
  const start = xml.indexOf('>', open);
  if (xml.charCodeAt(start - 1) === 0x2f) return {};
  const close = requireIndex(xml, `</${tag}>`, start);
  const children: Record<string, string> = {};
  for (let at = xml.indexOf('<', start + 1); at >= 0 && at < close;) {
    const nameEnd = xml.indexOf('>', at);
    const name = xml.slice(at + 1, nameEnd).trim();
    if (name.endsWith('/')) {
      children[detached(name.slice(0, -1).trim())] = '';
      at = xml.indexOf('<', nameEnd);
      continue;
    }
    const end = requireIndex(xml, `</${name}>`, nameEnd);
    children[detached(name)] = detached(decodeXmlText(xml.slice(nameEnd + 1, end)));
    at = xml.indexOf('<', end + name.length + 3);
  }
  return children;
}

/** `<Tags><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...` as a record, or undefined when not listed. */
function tagsOf(xml: string, from: number, to: number): Record<string, string> | undefined {
  const open = xml.indexOf('<Tags>', from);
  if (open < 0 || open > to) return undefined;
  const close = requireIndex(xml, '</Tags>', open);
  const tags: Record<string, string> = {};
  for (let at = xml.indexOf('<Tag>', open); at >= 0 && at < close; at = xml.indexOf('<Tag>', at + 5)) {
    const end = requireIndex(xml, '</Tag>', at);
    tags[detached(elementText(xml, 'Key', at, end) ?? '')] = detached(elementText(xml, 'Value', at, end) ?? '');
  }
  return tags;
}

/**
 * A copy of `text` that does not point into the page. V8 makes a slice of 13 characters or more a view of
 * its parent string, so one entry kept (a difference, under `--json`) would keep its whole page of XML
 * (megabytes) alive.
 */
function detached(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}

/** `<Name>` as the service wrote it; `Encoded="true"` means percent-encoded (names with characters XML cannot hold). */
function nameOf(xml: string, from: number, to: number): string {
  const start = requireIndex(xml, '<Name', from);
  if (start > to) throw new Error('List Blobs entry has no Name');
  const text = elementText(xml, 'Name', start, to) ?? '';
  return /\bEncoded\s*=\s*"true"/.test(xml.slice(start, xml.indexOf('>', start))) ? decodeURIComponent(text) : text;
}

/**
 * The text of the first `<tag>` element between `from` and `to`, entities decoded; '' for an empty or
 * self-closing one, undefined when there is none.
 */
function elementText(xml: string, tag: string, from: number, to: number): string | undefined {
  for (let at = xml.indexOf(`<${tag}`, from); at >= 0 && at < to; at = xml.indexOf(`<${tag}`, at + 1)) {
    const next = xml.charCodeAt(at + tag.length + 1);
    // `<Name` must not match `<NameSpace>`: the tag ends at '>', '/' or whitespace.
    if (next !== 0x3e && next !== 0x2f && next !== 0x20 && next !== 0x09 && next !== 0x0a && next !== 0x0d) continue;
    const open = xml.indexOf('>', at);
    if (xml.charCodeAt(open - 1) === 0x2f) return '';
    const close = xml.indexOf(`</${tag}>`, open);
    if (close < 0 || close > to) throw new Error(`List Blobs answer has an unclosed <${tag}>`);
    return decodeXmlText(xml.slice(open + 1, close));
  }
  return undefined;
}

function requireIndex(xml: string, text: string, from: number): number {
  const at = xml.indexOf(text, from);
  if (at < 0) throw new Error(`List Blobs answer is cut short: no ${text} after offset ${from}`);
  return at;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML character data: the five named entities, numeric references and CDATA sections. */
export function decodeXmlText(text: string): string {
  if (!text.includes('&') && !text.includes('<![CDATA[')) return text;
  // The pattern matches a CDATA section or an entity, so exactly one of the two groups is set.
  return text.replace(
    /<!\[CDATA\[([\s\S]*?)\]\]>|&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g,
    (_match, cdata: string | undefined, entity: string) => {
      if (cdata !== undefined) return cdata;
      if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
      if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
      const named = NAMED_ENTITIES[entity];
      if (named === undefined) throw new Error(`List Blobs answer uses an unknown XML entity &${entity};`);
      return named;
    },
  );
}
