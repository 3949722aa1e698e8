import type { IncomingHttpHeaders } from 'node:http';

// Which IAM permissions an S3 request needs, by Amazon S3's table of operations and permissions
// ("Required permissions for Amazon S3 API operations"), for path-style requests, which is what the
// local cloud serves. A request this table does not know is refused for a role session rather than
// allowed by guess.

export interface RequiredPermission {
  action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`, or `*` for ListBuckets. */
  resource: string;
  context: Record<string, string>;
}

export interface S3Operation {
  bucket: string | undefined;
  key: string | undefined;
  /** What the request needs; undefined when this table does not know the operation. */
  permissions: RequiredPermission[] | undefined;
  /** A GET or HEAD of an object: S3 answers 403, not 404, for a missing key unless the caller may list the bucket. */
  readsObject: boolean;
  /** The request's condition keys (aws:SecureTransport, the s3: header keys). */
  context: Record<string, string>;
}

const BUCKET_SUBRESOURCES: Record<string, Partial<Record<string, string>>> = {
  GET: {
    versioning: 's3:GetBucketVersioning',
    location: 's3:GetBucketLocation',
    uploads: 's3:ListBucketMultipartUploads',
    versions: 's3:ListBucketVersions',
    policy: 's3:GetBucketPolicy',
    lifecycle: 's3:GetLifecycleConfiguration',
    'object-lock': 's3:GetBucketObjectLockConfiguration',
    encryption: 's3:GetEncryptionConfiguration',
    tagging: 's3:GetBucketTagging',
    acl: 's3:GetBucketAcl',
    cors: 's3:GetBucketCORS',
    notification: 's3:GetBucketNotification',
    ownershipControls: 's3:GetBucketOwnershipControls',
    publicAccessBlock: 's3:GetBucketPublicAccessBlock',
  },
  PUT: {
    versioning: 's3:PutBucketVersioning',
    policy: 's3:PutBucketPolicy',
    lifecycle: 's3:PutLifecycleConfiguration',
    'object-lock': 's3:PutBucketObjectLockConfiguration',
    encryption: 's3:PutEncryptionConfiguration',
    tagging: 's3:PutBucketTagging',
    acl: 's3:PutBucketAcl',
    cors: 's3:PutBucketCORS',
    notification: 's3:PutBucketNotification',
    ownershipControls: 's3:PutBucketOwnershipControls',
    publicAccessBlock: 's3:PutBucketPublicAccessBlock',
  },
  DELETE: {
    policy: 's3:DeleteBucketPolicy',
    lifecycle: 's3:PutLifecycleConfiguration',
    encryption: 's3:PutEncryptionConfiguration',
    tagging: 's3:PutBucketTagging',
    cors: 's3:PutBucketCORS',
    ownershipControls: 's3:PutBucketOwnershipControls',
    publicAccessBlock: 's3:PutBucketPublicAccessBlock',
  },
};

/** Object sub-resources: [action, action when a versionId is given]. */
const OBJECT_SUBRESOURCES: Record<string, Partial<Record<string, readonly [string, string]>>> = {
  GET: {
    uploadId: ['s3:ListMultipartUploadParts', 's3:ListMultipartUploadParts'],
    tagging: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'],
    acl: ['s3:GetObjectAcl', 's3:GetObjectVersionAcl'],
    attributes: ['s3:GetObjectAttributes', 's3:GetObjectVersionAttributes'],
    retention: ['s3:GetObjectRetention', 's3:GetObjectRetention'],
    'legal-hold': ['s3:GetObjectLegalHold', 's3:GetObjectLegalHold'],
  },
  PUT: {
    uploadId: ['s3:PutObject', 's3:PutObject'],
    tagging: ['s3:PutObjectTagging', 's3:PutObjectVersionTagging'],
    acl: ['s3:PutObjectAcl', 's3:PutObjectVersionAcl'],
    retention: ['s3:PutObjectRetention', 's3:PutObjectRetention'],
    'legal-hold': ['s3:PutObjectLegalHold', 's3:PutObjectLegalHold'],
  },
  POST: {
    uploads: ['s3:PutObject', 's3:PutObject'],
    uploadId: ['s3:PutObject', 's3:PutObject'],
    restore: ['s3:RestoreObject', 's3:RestoreObject'],
  },
  DELETE: {
    uploadId: ['s3:AbortMultipartUpload', 's3:AbortMultipartUpload'],
    tagging: ['s3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging'],
  },
};

/**
 * Headers of a write that need a permission of their own besides s3:PutObject: tags sent with PutObject,
 * CreateMultipartUpload or CopyObject (x-amz-tagging) need s3:PutObjectTagging, as Amazon S3 documents.
 * Not modelled: a CopyObject that copies its source's tags (x-amz-tagging-directive COPY, the default) needs
 * s3:GetObjectTagging on a source that has tags, which the gateway cannot tell without reading the source.
 */
const WRITE_HEADER_ACTIONS: readonly (readonly [RegExp, string])[] = [
  [/^x-amz-tagging$/, 's3:PutObjectTagging'],
  [/^x-amz-(acl|grant-.+)$/, 's3:PutObjectAcl'],
  [/^x-amz-object-lock-(mode|retain-until-date)$/, 's3:PutObjectRetention'],
  [/^x-amz-object-lock-legal-hold$/, 's3:PutObjectLegalHold'],
];

/** Condition keys S3 sets from request headers. */
const HEADER_CONDITION_KEYS = [
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-acl',
  'x-amz-storage-class',
  'x-amz-copy-source',
  'x-amz-metadata-directive',
] as const;

export function s3Operation(method: string, url: URL, headers: IncomingHttpHeaders): S3Operation {
  const [, rawBucket = '', ...rawKey] = url.pathname.split('/');
  const bucket = rawBucket === '' ? undefined : decodeURIComponent(rawBucket);
  const key = rawKey.length === 0 || (rawKey.length === 1 && rawKey[0] === '') ? undefined : decodeURIComponent(rawKey.join('/'));
  const query = url.searchParams;
  const context: Record<string, string> = { 'aws:SecureTransport': url.protocol === 'https:' ? 'true' : 'false' };
  for (const name of HEADER_CONDITION_KEYS) {
    const value = headers[name];
    if (typeof value === 'string') context[`s3:${name}`] = value;
  }
  const known = (permissions: RequiredPermission[]): S3Operation => ({ bucket, key, permissions, readsObject: false, context });
  const unknown: S3Operation = { bucket, key, permissions: undefined, readsObject: false, context };

  if (bucket === undefined) return method === 'GET' ? known([{ action: 's3:ListAllMyBuckets', resource: '*', context }]) : unknown;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const subresource = (table: Partial<Record<string, unknown>>) => [...query.keys()].find((name) => Object.hasOwn(table, name));

  if (key === undefined) {
    const table = BUCKET_SUBRESOURCES[method] ?? {};
    const named = subresource(table);
    if (named !== undefined)
      return known([{ action: table[named] as string, resource: bucketArn, context: listingContext(named, query, context) }]);
    if ((method === 'GET' || method === 'HEAD') && !hasOtherSubresource(query)) {
      return known([{ action: 's3:ListBucket', resource: bucketArn, context: listingContext('', query, context) }]);
    }
    if (method === 'PUT' && [...query.keys()].length === 0) return known([{ action: 's3:CreateBucket', resource: bucketArn, context }]);
    if (method === 'DELETE' && [...query.keys()].length === 0) return known([{ action: 's3:DeleteBucket', resource: bucketArn, context }]);
    // DeleteObjects names its keys in the body; the gateway checks them there (see deleteObjectsPermissions).
    if (method === 'POST' && query.has('delete')) return known([]);
    return unknown;
  }

  const objectArn = `${bucketArn}/${key}`;
  const versioned = query.has('versionId');
  if (versioned) context['s3:versionid'] = query.get('versionId') ?? '';
  const table = OBJECT_SUBRESOURCES[method] ?? {};
  const named = subresource(table);
  if (named !== undefined) {
    const [action, versionAction] = table[named] as readonly [string, string];
    const permissions = [{ action: versioned ? versionAction : action, resource: objectArn, context }];
    if (method === 'PUT' && named === 'uploadId') permissions.push(...copySourcePermissions(headers, context));
    if (method === 'POST' && named === 'uploads') permissions.push(...headerPermissions(headers, objectArn, context));
    return known(permissions);
  }
  if (hasOtherSubresource(query)) return unknown;
  switch (method) {
    case 'GET':
    case 'HEAD':
      return {
        ...known([{ action: versioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: objectArn, context }]),
        readsObject: true,
      };
    case 'PUT':
      return known([
        { action: 's3:PutObject', resource: objectArn, context },
        ...headerPermissions(headers, objectArn, context),
        ...copySourcePermissions(headers, context),
      ]);
    case 'DELETE':
      return known([{ action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: objectArn, context }]);
    default:
      return unknown;
  }
}

/** DeleteObjects: s3:DeleteObject (or s3:DeleteObjectVersion) on every key its body names. */
export function deleteObjectsPermissions(bucket: string, body: string, context: Record<string, string>): RequiredPermission[] {
  const objects = body.match(/<Object>[\s\S]*?<\/Object>/g) ?? [];
  return objects.map((object) => {
    const key = unescapeXml(/<Key>([\s\S]*?)<\/Key>/.exec(object)?.[1] ?? '');
    const versioned = /<VersionId>/.test(object);
    return { action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: `arn:aws:s3:::${bucket}/${key}`, context };
  });
}

function unescapeXml(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, decimal: string) => String.fromCodePoint(Number(decimal)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** ListObjects(V2) and ListObjectVersions carry s3:prefix, s3:delimiter and s3:max-keys. */
function listingContext(subresource: string, query: URLSearchParams, context: Record<string, string>): Record<string, string> {
  if (subresource !== '' && subresource !== 'versions') return context;
  const listing = { ...context };
  for (const [parameter, conditionKey] of [
    ['prefix', 's3:prefix'],
    ['delimiter', 's3:delimiter'],
    ['max-keys', 's3:max-keys'],
  ] as const) {
    const value = query.get(parameter);
    if (value !== null) listing[conditionKey] = value;
  }
  return listing;
}

/** Query parameters that are options of ListObjects/GetObject rather than sub-resources of their own. */
const PLAIN_PARAMETERS = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'marker',
  'continuation-token',
  'start-after',
  'fetch-owner',
  'encoding-type',
  'key-marker',
  'version-id-marker',
  'upload-id-marker',
  'max-uploads',
  'versionId',
  'partNumber',
  'x-id',
  'response-content-type',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-cache-control',
  'response-expires',
  'max-parts',
  'part-number-marker',
  // A presigned URL's signature (checked by the gateway before the operation is looked up).
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
  'X-Amz-Content-Sha256',
  // Headers a presigned URL carries as parameters (the SDK's presigner hoists x-amz-* headers).
  'x-amz-checksum-mode',
]);

function hasOtherSubresource(query: URLSearchParams): boolean {
  return [...query.keys()].some((name) => !PLAIN_PARAMETERS.has(name));
}

function headerPermissions(headers: IncomingHttpHeaders, objectArn: string, context: Record<string, string>): RequiredPermission[] {
  const actions = new Set<string>();
  for (const name of Object.keys(headers)) {
    for (const [pattern, action] of WRITE_HEADER_ACTIONS) if (pattern.test(name)) actions.add(action);
  }
  return [...actions].map((action) => ({ action, resource: objectArn, context }));
}

/** CopyObject and UploadPartCopy also read their source: s3:GetObject (or GetObjectVersion) on it. */
function copySourcePermissions(headers: IncomingHttpHeaders, context: Record<string, string>): RequiredPermission[] {
  const source = headers['x-amz-copy-source'];
  if (typeof source !== 'string') return [];
  const [path = '', version] = decodeURIComponent(source).replace(/^\//, '').split('?versionId=');
  return [{ action: version ? 's3:GetObjectVersion' : 's3:GetObject', resource: `arn:aws:s3:::${path}`, context }];
}
