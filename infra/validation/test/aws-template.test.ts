import { describe, expect, it } from 'vitest';
import { parseTemplate } from '@blobferry/cloudformation';
import { readWorkspaceFile } from './sources.js';

type Json = Record<string, unknown>;

const template = parseTemplate(readWorkspaceFile('infra/aws-iam/template.yaml'), 'infra/aws-iam/template.yaml');
const resources = template['Resources'] as Record<string, Json>;
const parameters = template['Parameters'] as Record<string, Json>;
const propertiesOf = (logicalId: string) => resources[logicalId]?.['Properties'] as Json;

/** Every statement a policy can contain, whichever way its Fn::If conditions go. */
function allStatements(statements: unknown[]): Json[] {
  return statements.flatMap((statement) => {
    const branches = (statement as Json)['Fn::If'];
    if (Array.isArray(branches)) return allStatements(branches.slice(1)).filter((branch) => !('Ref' in branch));
    return [statement as Json];
  });
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
const bucketArn = 'arn:${AWS::Partition}:s3:::${BucketName}';
/** The only actions granted on the bucket itself rather than on objects under the prefix. */
const BUCKET_ACTIONS = ['s3:ListBucket', 's3:ListBucketMultipartUploads', 's3:GetBucketVersioning'];

describe('the role can touch nothing but the backup bucket', () => {
  const policies = propertiesOf('BackupRole')['Policies'] as { PolicyDocument: { Statement: unknown[] } }[];
  const statements = policies.flatMap((policy) => allStatements(policy.PolicyDocument.Statement));

  it('has statements in every branch, and only Allow', () => {
    expect(statements.map((statement) => statement['Sid'])).toEqual([
      'ReadWriteBackupObjects',
      'TagBackupObjects',
      'FindOpenUploadsToResume',
      'ListBackupPrefix',
      'DeleteMarkersUnderPrefix',
      'CheckVersioningBeforeDeletes',
      'EncryptWithBackupKey',
    ]);
    for (const statement of statements) expect(statement['Effect']).toBe('Allow');
  });

  it('names every action (no wildcard, S3 and KMS only)', () => {
    for (const statement of statements) {
      for (const action of list(statement['Action'])) {
        expect(typeof action).toBe('string');
        expect(action as string).toMatch(/^(s3|kms):[A-Za-z]+$/);
      }
    }
  });

  it('never grants what would let it destroy backups or change the bucket', () => {
    const actions = statements.flatMap((statement) => list(statement['Action']) as string[]);
    for (const forbidden of [
      's3:DeleteObjectVersion',
      's3:PutBucketPolicy',
      's3:PutLifecycleConfiguration',
      's3:BypassGovernanceRetention',
      's3:PutObjectRetention',
      's3:PutBucketVersioning',
      's3:PutObjectVersionTagging',
      's3:DeleteObjectTagging',
      's3:DeleteObjectVersionTagging',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
  });

  it('puts S3 actions on the bucket (listing) or objects under the prefix, and KMS on the chosen key only', () => {
    for (const statement of statements) {
      const actions = list(statement['Action']) as string[];
      for (const resource of list(statement['Resource'])) {
        if (actions.every((action) => action.startsWith('kms:'))) {
          expect(resource).toEqual({ Ref: 'KmsKeyArn' });
        } else if (actions.every((action) => BUCKET_ACTIONS.includes(action))) {
          expect(resource).toEqual({ 'Fn::Sub': bucketArn });
        } else {
          expect(resource).toEqual({ 'Fn::Sub': `${bucketArn}/\${BucketPrefix}*` });
        }
      }
    }
  });

  it('tags objects under the prefix (written with them and on their own) and reads their tags, nothing more', () => {
    const tagging = statements.find((statement) => statement['Sid'] === 'TagBackupObjects');
    expect(tagging?.['Action']).toEqual(['s3:PutObjectTagging', 's3:GetObjectTagging']);
    expect(tagging?.['Resource']).toEqual({ 'Fn::Sub': `${bucketArn}/\${BucketPrefix}*` });
    const tagActions = statements.flatMap((statement) =>
      (list(statement['Action']) as string[]).filter((action) => /Tagging$/.test(action)),
    );
    expect(tagActions.toSorted()).toEqual(['s3:GetObjectTagging', 's3:PutObjectTagging']);
  });

  it('lists only under the prefix when one is set', () => {
    const listing = statements.find((statement) => statement['Sid'] === 'ListBackupPrefix');
    expect(listing?.['Condition']).toEqual({
      'Fn::If': ['WholeBucket', { Ref: 'AWS::NoValue' }, { StringLike: { 's3:prefix': [{ 'Fn::Sub': '${BucketPrefix}*' }] } }],
    });
  });

  it('deletes, and reads the bucket versioning that makes a delete safe, only with AllowDeleteMarkers', () => {
    const policy =
      (propertiesOf('BackupRole')['Policies'] as { PolicyDocument: { Statement: Json[] } }[])[0]?.PolicyDocument.Statement ?? [];
    const grantedWithDeleteMarkers = (sid: string) =>
      policy.some((statement) => {
        const branches = statement['Fn::If'] as [string, Json, Json] | undefined;
        return branches?.[0] === 'GrantDeleteMarkers' && branches[1]['Sid'] === sid && 'Ref' in branches[2];
      });
    expect(grantedWithDeleteMarkers('DeleteMarkersUnderPrefix')).toBe(true);
    expect(grantedWithDeleteMarkers('CheckVersioningBeforeDeletes')).toBe(true);
    const versioning = statements.find((statement) => statement['Sid'] === 'CheckVersioningBeforeDeletes');
    expect(versioning?.['Action']).toBe('s3:GetBucketVersioning');
  });

  it('uses the KMS key only through S3', () => {
    const kms = statements.find((statement) => statement['Sid'] === 'EncryptWithBackupKey');
    expect(kms?.['Condition']).toEqual({ StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.${AWS::URLSuffix}' } } });
  });
});

describe('the restore role reads backup versions and writes nothing', () => {
  const restoreRole = resources['RestoreRole'] as Json;
  const policies = propertiesOf('RestoreRole')['Policies'] as { PolicyDocument: { Statement: unknown[] } }[];
  const statements = policies.flatMap((policy) => allStatements(policy.PolicyDocument.Statement));
  const actions = statements.flatMap((statement) => list(statement['Action']) as string[]);
  /** Everything a restore may do besides the opt-in RestoreObject: reads only. */
  const READS = [
    's3:GetObjectVersion',
    's3:GetObjectVersionTagging',
    's3:ListBucketVersions',
    's3:ListBucket',
    's3:GetBucketVersioning',
    's3:GetLifecycleConfiguration',
    'kms:Decrypt',
  ];

  it('exists only when an operator is named', () => {
    expect(restoreRole['Condition']).toBe('CreateRestoreRole');
    expect((template['Conditions'] as Json)['CreateRestoreRole']).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'RestoreOperatorSubject' }, ''] }],
    });
    const output = (template['Outputs'] as Record<string, Json>)['RestoreRoleArn'];
    expect(output).toEqual({
      Condition: 'CreateRestoreRole',
      Description: expect.any(String),
      Value: { 'Fn::GetAtt': ['RestoreRole', 'Arn'] },
    });
  });

  it('has statements in every branch, and only Allow', () => {
    expect(statements.map((statement) => statement['Sid'])).toEqual([
      'ReadBackupVersions',
      'ListBackupVersions',
      'ReadVersioningAndExpiry',
      'DecryptWithBackupKey',
      'RestoreArchivedVersions',
    ]);
    for (const statement of statements) expect(statement['Effect']).toBe('Allow');
  });

  it('grants reads only, and RestoreObject only with AllowRestoreFromArchive', () => {
    expect(actions.filter((action) => !READS.includes(action))).toEqual(['s3:RestoreObject']);
    const archive = policies[0]?.PolicyDocument.Statement.find((statement) => {
      const branches = (statement as Json)['Fn::If'];
      return Array.isArray(branches) && branches[0] === 'GrantRestoreFromArchive';
    });
    expect(archive).toBeDefined();
    expect((template['Conditions'] as Json)['GrantRestoreFromArchive']).toEqual({
      'Fn::Equals': [{ Ref: 'AllowRestoreFromArchive' }, 'true'],
    });
    expect(parameters['AllowRestoreFromArchive']?.['Default']).toBe('false');
    for (const write of ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject', 's3:PutObjectTagging']) {
      expect(actions).not.toContain(write);
    }
  });

  it('reads only under the prefix, lists only under it when one is set, and decrypts only through S3', () => {
    for (const statement of statements) {
      const granted = list(statement['Action']) as string[];
      for (const resource of list(statement['Resource'])) {
        if (granted.every((action) => action.startsWith('kms:'))) expect(resource).toEqual({ Ref: 'KmsKeyArn' });
        else if (
          granted.every((action) => action.startsWith('s3:Get') && action.includes('Object')) ||
          granted.includes('s3:RestoreObject')
        )
          expect(resource).toEqual({ 'Fn::Sub': `${bucketArn}/\${BucketPrefix}*` });
        else expect(resource).toEqual({ 'Fn::Sub': bucketArn });
      }
    }
    const listing = statements.find((statement) => statement['Sid'] === 'ListBackupVersions');
    expect(listing?.['Condition']).toEqual({
      'Fn::If': ['WholeBucket', { Ref: 'AWS::NoValue' }, { StringLike: { 's3:prefix': [{ 'Fn::Sub': '${BucketPrefix}*' }] } }],
    });
    const kms = statements.find((statement) => statement['Sid'] === 'DecryptWithBackupKey');
    expect(kms?.['Condition']).toEqual({ StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.${AWS::URLSuffix}' } } });
  });

  it('trusts one operator, aud and sub pinned', () => {
    const [document, variables] = (propertiesOf('RestoreRole')['AssumeRolePolicyDocument'] as Json)['Fn::Sub'] as [string, Json];
    const trust = JSON.parse(document) as { Statement: Json[] };
    expect(trust.Statement).toEqual([
      {
        Sid: 'OnlyTheRestoreOperator',
        Effect: 'Allow',
        Principal: { Federated: '${ProviderArn}' },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            'sts.windows.net/${TenantId}/:aud': '${Audience}',
            'sts.windows.net/${TenantId}/:sub': '${RestoreOperatorSubject}',
          },
        },
      },
    ]);
    expect(variables['ProviderArn']).toEqual({
      'Fn::If': ['CreateOidcProvider', { Ref: 'OidcProvider' }, { Ref: 'ExistingOidcProviderArn' }],
    });
  });

  it('is the only role that may read old versions: the backup role lists no versions and reads none', () => {
    const backupPolicies = propertiesOf('BackupRole')['Policies'] as { PolicyDocument: { Statement: unknown[] } }[];
    const backupActions = backupPolicies
      .flatMap((policy) => allStatements(policy.PolicyDocument.Statement))
      .flatMap((statement) => list(statement['Action']) as string[]);
    for (const versionRead of ['s3:GetObjectVersion', 's3:ListBucketVersions', 's3:GetObjectVersionTagging']) {
      expect(backupActions).not.toContain(versionRead);
    }
  });
});

describe('the trust admits one identity', () => {
  const [document, variables] = (propertiesOf('BackupRole')['AssumeRolePolicyDocument'] as Json)['Fn::Sub'] as [string, Json];
  const trust = JSON.parse(document) as { Statement: Json[] };

  it('is web identity federation with aud and sub pinned to the parameters', () => {
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]).toEqual({
      Sid: 'OnlyTheBackupIdentity',
      Effect: 'Allow',
      Principal: { Federated: '${ProviderArn}' },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          'sts.windows.net/${TenantId}/:aud': '${Audience}',
          'sts.windows.net/${TenantId}/:sub': '${PrincipalId}',
        },
      },
    });
    expect(variables['ProviderArn']).toEqual({
      'Fn::If': ['CreateOidcProvider', { Ref: 'OidcProvider' }, { Ref: 'ExistingOidcProviderArn' }],
    });
  });
});

describe('the bucket', () => {
  const bucket = resources['BackupBucket'] as Json;
  const properties = propertiesOf('BackupBucket');

  it('outlives the stack', () => {
    expect(bucket['DeletionPolicy']).toBe('Retain');
    expect(bucket['UpdateReplacePolicy']).toBe('Retain');
  });

  it('is versioned, private, owner-enforced and encrypted by default', () => {
    expect(properties['VersioningConfiguration']).toEqual({ Status: 'Enabled' });
    expect(properties['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(properties['OwnershipControls']).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    const [encryption] = (properties['BucketEncryption'] as Json)['ServerSideEncryptionConfiguration'] as Json[];
    const [, kms, s3] = encryption?.['Fn::If'] as [string, Json, Json];
    expect(kms).toEqual({
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { Ref: 'KmsKeyArn' } },
      BucketKeyEnabled: true,
    });
    expect(s3).toEqual({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } });
  });

  it('aborts incomplete multipart uploads', () => {
    const [abort] = (properties['LifecycleConfiguration'] as Json)['Rules'] as Json[];
    expect(abort?.['AbortIncompleteMultipartUpload']).toEqual({ DaysAfterInitiation: { Ref: 'AbortIncompleteMultipartUploadDays' } });
    expect(abort?.['Status']).toBe('Enabled');
  });

  it('turns Object Lock on only at creation, in governance mode', () => {
    expect(properties['ObjectLockEnabled']).toEqual({ 'Fn::If': ['UseObjectLock', true, { Ref: 'AWS::NoValue' }] });
    const conditions = template['Conditions'] as Json;
    expect(conditions['UseObjectLock']).toEqual({
      'Fn::And': [{ Condition: 'CreateBucketHere' }, { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ObjectLockRetentionDays' }, 0] }] }],
    });
  });

  it('denies every request without TLS, and its policy names only this bucket', () => {
    const policy = propertiesOf('BackupBucketPolicy')['PolicyDocument'] as { Statement: Json[] };
    expect(policy.Statement).toEqual([
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [{ 'Fn::GetAtt': ['BackupBucket', 'Arn'] }, { 'Fn::Sub': '${BackupBucket.Arn}/*' }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
    expect(resources['BackupBucketPolicy']?.['Condition']).toBe('CreateBucketHere');
  });
});

describe('parameters refuse bad input before anything is created', () => {
  const accepts = (name: string, value: string) => {
    const pattern = parameters[name]?.['AllowedPattern'];
    expect(typeof pattern, `${name} has an AllowedPattern`).toBe('string');
    return new RegExp(`^(?:${pattern as string})$`).test(value);
  };
  const guid = '8d2c4f0e-1b7a-4c3e-9f21-5a6b7c8d9e0f';

  it.each([
    ['TenantId', guid, 'contoso.onmicrosoft.com'],
    ['PrincipalId', guid, `${guid} `],
    ['Audience', 'api://blobferry-backup', 'api://blob ferry'],
    [
      'ExistingOidcProviderArn',
      `arn:aws:iam::123456789012:oidc-provider/sts.windows.net/${guid}/`,
      `arn:aws:iam::123456789012:oidc-provider/login.microsoftonline.com/${guid}/v2.0`,
    ],
    ['BucketName', 'my-backups.eu', 'My_Backups'],
    ['BucketName', 'my-backups', 'my..backups'],
    ['BucketPrefix', 'backups/', 'backups'],
    ['BucketPrefix', '', '/backups/'],
    ['BucketPrefix', 'a/b/', 'a*/'],
    ['KmsKeyArn', `arn:aws:kms:eu-west-1:123456789012:key/${guid}`, 'arn:aws:kms:eu-west-1:123456789012:alias/backups'],
    ['RoleName', 'blobferry-backup', 'blobferry backup'],
    ['RestoreOperatorSubject', guid, 'user@contoso.com'],
    ['RestoreOperatorSubject', 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ', `${guid} `],
    ['RestoreOperatorSubject', '', 'short'],
    ['RestoreRoleName', 'blobferry-restore', 'blobferry restore'],
  ])('%s accepts %j and refuses %j', (name, good, bad) => {
    expect(accepts(name, good)).toBe(true);
    expect(accepts(name, bad)).toBe(false);
  });

  it('bounds the session length to what IAM allows', () => {
    expect(parameters['MaxSessionDurationSeconds']).toMatchObject({ MinValue: 3600, MaxValue: 43200 });
  });

  it('refuses Object Lock on a bucket it does not create', () => {
    const rule = (template['Rules'] as Record<string, Json>)['ObjectLockNeedsNewBucket'];
    expect(rule?.['Assertions']).toEqual([
      { Assert: { 'Fn::Equals': [{ Ref: 'CreateBucket' }, 'true'] }, AssertDescription: expect.stringContaining('CreateBucket=true') },
    ]);
  });
});

describe('S3 Inventory of the backup bucket', () => {
  const configurations = (propertiesOf('BackupBucket')['InventoryConfigurations'] as Json)['Fn::If'] as [string, Json[], Json];
  const [current, allVersionsBranch] = configurations[1] as [Json, Json];
  const allVersions = (allVersionsBranch['Fn::If'] as [string, Json, Json])[1];
  const reportsArn = 'arn:${AWS::Partition}:s3:::${BucketName}-inventory';

  it('is off unless asked for, and only on a bucket created here', () => {
    expect(parameters['EnableInventory']?.['Default']).toBe('false');
    expect(configurations[0]).toBe('ReportInventory');
    expect((template['Conditions'] as Json)['ReportInventory']).toEqual({
      'Fn::And': [{ Condition: 'CreateBucketHere' }, { 'Fn::Equals': [{ Ref: 'EnableInventory' }, 'true'] }],
    });
    for (const id of ['InventoryReportsBucket', 'InventoryReportsBucketPolicy', 'InventoryReportsReadPolicy']) {
      expect(resources[id]?.['Condition']).toBe('ReportInventory');
    }
  });

  it('reports current versions daily in Parquet with the fields the join needs, into the reports bucket', () => {
    expect(current).toMatchObject({ Id: 'blobferry', Enabled: true, IncludedObjectVersions: 'Current', ScheduleFrequency: 'Daily' });
    expect(current['OptionalFields']).toEqual(
      expect.arrayContaining(['Size', 'LastModifiedDate', 'ETag', 'EncryptionStatus', 'IsMultipartUploaded']),
    );
    expect(current['Destination']).toEqual({
      BucketArn: { 'Fn::Sub': reportsArn },
      BucketAccountId: { Ref: 'AWS::AccountId' },
      Format: 'Parquet',
      Prefix: 'inventory',
    });
    // Never among the backups, where verify would call the reports extra.
    expect(reportsArn).not.toBe(bucketArn);
  });

  it('offers an all-versions report too, for a restore to plan from', () => {
    expect((allVersionsBranch['Fn::If'] as unknown[])[0]).toBe('ReportAllVersions');
    expect(allVersions).toMatchObject({ Id: 'blobferry-versions', IncludedObjectVersions: 'All', ScheduleFrequency: 'Daily' });
    expect(allVersions['Destination']).toEqual(current['Destination']);
  });

  it('lets only S3 write the reports, for this bucket and account, and only over TLS', () => {
    const statements = (propertiesOf('InventoryReportsBucketPolicy')['PolicyDocument'] as { Statement: Json[] }).Statement;
    expect(statements.map((statement) => statement['Sid'])).toEqual([
      'S3DeliversThisBucketsInventory',
      'NothingElseWrites',
      'DenyInsecureTransport',
    ]);
    const [delivery, nothingElse] = statements as [Json, Json];
    expect(delivery).toMatchObject({ Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 's3:PutObject' });
    expect(delivery['Condition']).toEqual({
      ArnLike: { 'aws:SourceArn': { 'Fn::Sub': bucketArn } },
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 's3:x-amz-acl': 'bucket-owner-full-control' },
    });
    expect(nothingElse).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 's3:PutObject' });
    expect(nothingElse['Condition']).toEqual({ StringNotEquals: { 'aws:PrincipalServiceName': 's3.amazonaws.com' } });
  });

  it('lets the backup role read the reports of its bucket, and nothing more', () => {
    const properties = propertiesOf('InventoryReportsReadPolicy');
    expect(properties['Roles']).toEqual([{ Ref: 'BackupRole' }]);
    const statements = (properties['PolicyDocument'] as { Statement: Json[] }).Statement;
    expect(statements).toEqual([
      {
        Sid: 'ReadInventoryReports',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Sub': `${reportsArn}/inventory/\${BucketName}/*` },
      },
      {
        Sid: 'FindInventoryReports',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::Sub': reportsArn },
        Condition: { StringLike: { 's3:prefix': [{ 'Fn::Sub': 'inventory/${BucketName}/*' }] } },
      },
    ]);
  });

  it('expires the reports and keeps them private and encrypted', () => {
    const properties = propertiesOf('InventoryReportsBucket');
    expect(properties['BucketName']).toEqual({ 'Fn::Sub': '${BucketName}-inventory' });
    expect(properties['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(properties['LifecycleConfiguration']).toEqual({
      Rules: [{ Id: 'expire-reports', Status: 'Enabled', ExpirationInDays: { Ref: 'InventoryRetentionDays' } }],
    });
  });
});
