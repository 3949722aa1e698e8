import { ContainerClient, ContainerSASPermissions, type BlobItem } from '@azure/storage-blob';
import type { LocalCloud } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeXmlText, listBlobsPage, parseBlobsPage } from '../src/listing/list-blobs-page.js';
import { listSourceBlobs, listSourceTopLevel, type SourceBlob } from '../src/listing/source-listing.js';
import { freshContainer, startCloud } from './support/local-cloud.js';

const page = (blobs: string, tail = '<NextMarker />') =>
  `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="https://a.blob.core.windows.net/" ContainerName="c"><Prefix>p</Prefix><MaxResults>5000</MaxResults><Blobs>${blobs}</Blobs>${tail}</EnumerationResults>`;
const blob = (name: string, properties = '<Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5>') =>
  `<Blob>${name}<Properties><Creation-Time>Thu, 03 Dec 2026 14:33:36 GMT</Creation-Time><Last-Modified>Thu, 03 Dec 2026 14:33:37 GMT</Last-Modified><Etag>0x8DD0000000000001</Etag><Content-Length>256</Content-Length><Content-Type>application/octet-stream</Content-Type><Content-Encoding /><Content-CRC64 />${properties}<BlobType>BlockBlob</BlobType></Properties><OrMetadata /></Blob>`;

describe('parseBlobsPage', () => {
  it("reads each blob's name, ETag, size, Content-MD5 and Last-Modified", () => {
    expect(parseBlobsPage(page(blob('<Name>a/b.txt</Name>')))).toEqual({
      blobs: [
        {
          name: 'a/b.txt',
          etag: '0x8DD0000000000001',
          size: 256,
          md5Base64: '1B2M2Y8AsgTpgAmY7PhCfg==',
          lastModified: new Date('2026-12-03T14:33:37Z'),
          blobType: 'BlockBlob',
        },
      ],
      prefixes: [],
      nextMarker: undefined,
    });
  });

  it('reads the tier, and the metadata (names as spelt) and tags of a listing that includes them', () => {
    const [entry] = parseBlobsPage(
      page(
        blob(
          '<Name>t</Name>',
          '<AccessTier>Cool</AccessTier></Properties><Metadata><Owner>a &amp; b</Owner><Empty /></Metadata><Tags><TagSet><Tag><Key>k 1</Key><Value>v/1</Value></Tag><Tag><Key>e</Key><Value /></Tag></TagSet></Tags><Properties>',
        ),
      ),
    ).blobs;
    expect(entry).toMatchObject({ accessTier: 'Cool', metadata: { Owner: 'a & b', Empty: '' }, tags: { 'k 1': 'v/1', e: '' } });
    const [plain] = parseBlobsPage(page(blob('<Name>p</Name>'))).blobs;
    expect(plain).not.toHaveProperty('metadata');
    expect(plain).not.toHaveProperty('tags');
  });

  it('decodes entities, character references and CDATA, and percent-encoded names (Encoded="true")', () => {
    const { blobs } = parseBlobsPage(
      page(
        blob('<Name>&lt;odd&gt; &amp; &quot;q&quot; &apos;s&apos; &#233;&#x1F600;</Name>') +
          blob('<Name Encoded="true">bad%EF%BF%BEname%0B</Name>') +
          blob('<Name><![CDATA[cdata & <raw>]]></Name>'),
      ),
    );
    expect(blobs.map((entry) => entry.name)).toEqual(['<odd> & "q" \'s\' é😀', 'bad\uFFFEname\u000B', 'cdata & <raw>']);
  });

  it('takes an empty or missing Content-MD5 as none, and the NextMarker of a page that is not the last', () => {
    const { blobs, nextMarker } = parseBlobsPage(
      page(blob('<Name>x</Name>', '<Content-MD5 />') + blob('<Name>y</Name>', ''), '<NextMarker>2!12!MDAwMDA0IXk-</NextMarker>'),
    );
    expect(blobs.map((entry) => entry.md5Base64)).toEqual([undefined, undefined]);
    expect(nextMarker).toBe('2!12!MDAwMDA0IXk-');
  });

  it('lists BlobPrefix entries of a delimited listing, and an empty page', () => {
    expect(parseBlobsPage(page('<BlobPrefix><Name>dir/</Name></BlobPrefix>' + blob('<Name>top.txt</Name>'))).prefixes).toEqual(['dir/']);
    expect(parseBlobsPage(page('').replace('<Blobs></Blobs>', '<Blobs />'))).toEqual({ blobs: [], prefixes: [], nextMarker: undefined });
  });

  it('refuses an answer that is not a listing, is cut short, or uses an entity XML does not define', () => {
    expect(() => parseBlobsPage('<html>proxy error</html>')).toThrow('List Blobs answered something other than EnumerationResults');
    expect(() => parseBlobsPage(page(blob('<Name>a</Name>')).slice(0, 200))).toThrow('List Blobs answer is cut short');
    expect(() => decodeXmlText('&nbsp;')).toThrow('unknown XML entity &nbsp;');
  });
});

/** The SDK's own listing, in the shape verify reads, to compare the page reader with. */
function sdkShape(item: BlobItem): SourceBlob {
  const md5 = item.properties.contentMD5;
  return {
    name: item.name,
    etag: item.properties.etag,
    size: item.properties.contentLength ?? 0,
    md5Base64: md5 && md5.length > 0 ? Buffer.from(md5).toString('base64') : undefined,
    lastModified: item.properties.lastModified,
    ...(item.properties.blobType ? { blobType: item.properties.blobType } : {}),
    ...(item.properties.accessTier ? { accessTier: item.properties.accessTier } : {}),
    ...(item.metadata ? { metadata: item.metadata } : {}),
    ...(item.tags ? { tags: item.tags } : {}),
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe('listBlobsPage against Azurite', () => {
  let cloud: LocalCloud;
  let container: ContainerClient;
  const names = [
    'with space.txt',
    'ünïcödé/日本語.txt',
    'emoji 😀🚀.bin',
    'hash#q?pct%plus+.txt',
    'xml <&> "\'.txt',
    'dir/a',
    'dir/sub/b',
    'trailing/',
    'z',
  ];

  beforeAll(async () => {
    cloud = await startCloud();
    container = await freshContainer(cloud);
    for (const [index, name] of names.entries()) {
      const body = Buffer.from(`content ${index}`);
      const client = container.getBlockBlobClient(name);
      // Half by Put Blob, which stores a Content-MD5; half by Put Block List, which stores none.
      if (index % 2 === 0) {
        await client.upload(body, body.length);
      } else {
        const blockId = Buffer.from('block-0').toString('base64');
        await client.stageBlock(blockId, body, body.length);
        await client.commitBlockList([blockId]);
      }
    }
  }, 120_000);
  afterAll(async () => cloud?.stop());

  it("lists what the SDK lists, page by page through the markers, through the client's own pipeline", async () => {
    const expected: SourceBlob[] = [];
    for await (const item of container.listBlobsFlat()) expected.push(sdkShape(item));
    const pages: SourceBlob[][] = [];
    let marker: string | undefined;
    do {
      const next = await listBlobsPage(container, { prefix: '', ...(marker ? { marker } : {}), maxResults: 2 });
      pages.push(next.blobs);
      marker = next.nextMarker;
    } while (marker);
    expect(pages.length).toBe(Math.ceil(names.length / 2));
    expect(pages.flat()).toEqual(expected);
    expect(expected.filter((entry) => entry.md5Base64 !== undefined)).toHaveLength(Math.ceil(names.length / 2));
    // listSourceBlobs (5,000 a page) and a prefix agree with it too.
    expect(await collect(listSourceBlobs(container, ''))).toEqual(expected);
    expect((await collect(listSourceBlobs(container, 'dir/'))).map((entry) => entry.name)).toEqual(['dir/a', 'dir/sub/b']);
  });

  it('lists metadata and tags as the SDK does when asked for properties', async () => {
    const tagged = container.getBlockBlobClient('dir/a');
    await tagged.setMetadata({ owner: 'alice', note: 'x & <y>' });
    await tagged.setTags({ 'k 1': 'v/1', team: 'ops' });
    const expected: SourceBlob[] = [];
    for await (const item of container.listBlobsFlat({ includeMetadata: true, includeTags: true })) expected.push(sdkShape(item));
    const listed = await collect(listSourceBlobs(container, '', { properties: true }));
    expect(listed).toEqual(expected);
    expect(listed.find((entry) => entry.name === 'dir/a')).toMatchObject({
      metadata: { owner: 'alice', note: 'x & <y>' },
      tags: { 'k 1': 'v/1', team: 'ops' },
    });
  });

  it('lists one "/" level as the SDK does: its blobs and its prefixes', async () => {
    const level = await listSourceTopLevel(container, '');
    const sdk = await container.listBlobsByHierarchy('/').byPage().next();
    const segment = sdk.value.segment;
    expect(level?.blobs).toEqual(segment.blobItems.map(sdkShape));
    expect(level?.prefixes).toEqual((segment.blobPrefixes ?? []).map((entry: { name: string }) => entry.name));
    expect(level?.prefixes).toEqual(['dir/', 'trailing/', 'ünïcödé/']);
  });

  it("throws the service's error as the SDK would: status and error code", async () => {
    const gone = await freshContainer(cloud);
    await gone.delete();
    await expect(listBlobsPage(gone, { prefix: '', maxResults: 10 })).rejects.toMatchObject({
      name: 'RestError',
      statusCode: 404,
      code: 'ContainerNotFound',
    });
    await expect(gone.listBlobsFlat().byPage().next()).rejects.toMatchObject({ statusCode: 404, code: 'ContainerNotFound' });
  });

  it("lists through a client made from a SAS URL, whose query the listing's parameters join", async () => {
    const sasUrl = await container.generateSasUrl({
      permissions: ContainerSASPermissions.parse('rl'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const viaSas = new ContainerClient(sasUrl);
    const page = await listBlobsPage(viaSas, { prefix: 'dir/', maxResults: 10 });
    expect(page.blobs.map((entry) => entry.name)).toEqual(['dir/a', 'dir/sub/b']);
  });

  it('honours abortSignal', async () => {
    await expect(listBlobsPage(container, { prefix: '', maxResults: 10 }, AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
