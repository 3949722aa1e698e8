import { describe, expect, it } from 'vitest';
import { evaluateTemplate, parseTemplate, TemplateError } from '@blobferry/cloudformation';
import { loadIamModel } from '../src/iam/model.js';
import { AWS_IAM_TEMPLATE_PATH } from '../src/workspace-paths.js';

const TENANT = '4f6c2a1e-8b3d-4e5f-9a7c-0d1e2f3a4b5c';
const PRINCIPAL = '2b0bf0e1-6d3e-4b9f-8a42-7e8d9c0b1f22';
const shippedParameters = { TenantId: TENANT, PrincipalId: PRINCIPAL, Audience: 'api://blobferry-backup', BucketName: 'blobferry-backup' };

describe('the shipped infra/aws-iam template, read like CloudFormation', () => {
  it('creates the tenant OIDC provider and a role trusting it, with aud and sub pinned', async () => {
    const model = await loadIamModel({ templatePath: AWS_IAM_TEMPLATE_PATH, templateParameters: shippedParameters });
    const providerArn = `arn:aws:iam::000000000000:oidc-provider/sts.windows.net/${TENANT}/`;
    expect(model.providers).toEqual([
      { arn: providerArn, url: `https://sts.windows.net/${TENANT}/`, clientIds: ['api://blobferry-backup'] },
    ]);
    expect(model.roles).toHaveLength(1);
    const [role] = model.roles;
    expect(role).toMatchObject({
      arn: 'arn:aws:iam::000000000000:role/blobferry-backup',
      name: 'blobferry-backup',
      maxSessionDurationSeconds: 3600,
    });
    expect(role?.roleId).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(role?.trustPolicy).toMatchObject({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`sts.windows.net/${TENANT}/:aud`]: 'api://blobferry-backup',
              [`sts.windows.net/${TENANT}/:sub`]: PRINCIPAL,
            },
          },
        },
      ],
    });
  });

  it('honours parameters: role name, session length, account id', async () => {
    const model = await loadIamModel({
      templatePath: AWS_IAM_TEMPLATE_PATH,
      templateParameters: { ...shippedParameters, RoleName: 'other-role', MaxSessionDurationSeconds: '7200' },
      accountId: '123456789012',
    });
    expect(model.roles[0]).toMatchObject({ arn: 'arn:aws:iam::123456789012:role/other-role', maxSessionDurationSeconds: 7200 });
    expect(model.providers[0]?.arn).toBe(`arn:aws:iam::123456789012:oidc-provider/sts.windows.net/${TENANT}/`);
  });

  it('reuses an existing provider by ARN, registered with the Audience as its client id', async () => {
    const existing = `arn:aws:iam::000000000000:oidc-provider/sts.windows.net/${TENANT}/`;
    const model = await loadIamModel({
      templatePath: AWS_IAM_TEMPLATE_PATH,
      templateParameters: { ...shippedParameters, ExistingOidcProviderArn: existing },
    });
    expect(model.providers).toEqual([{ arn: existing, url: `https://sts.windows.net/${TENANT}/`, clientIds: ['api://blobferry-backup'] }]);
    expect(model.roles[0]?.trustPolicy).toMatchObject({ Statement: [{ Principal: { Federated: existing } }] });
  });

  it('rejects parameter values the template constraints refuse, naming the parameter and the fix', async () => {
    const load = (overrides: Record<string, string>) =>
      loadIamModel({ templatePath: AWS_IAM_TEMPLATE_PATH, templateParameters: { ...shippedParameters, ...overrides } });
    await expect(load({ PrincipalId: 'not-a-guid' })).rejects.toThrow(
      /PrincipalId="not-a-guid" does not match AllowedPattern.*principal \(object\) id/,
    );
    await expect(load({ CreateBucket: 'maybe' })).rejects.toThrow(/CreateBucket.*AllowedValues/);
    await expect(load({ MaxSessionDurationSeconds: '60' })).rejects.toThrow(/below MinValue 3600/);
    await expect(load({ Unknown: 'x' })).rejects.toThrow(/parameter Unknown is not declared/);
    await expect(
      loadIamModel({ templatePath: AWS_IAM_TEMPLATE_PATH, templateParameters: { TenantId: TENANT, Audience: 'a', BucketName: 'bucket' } }),
    ).rejects.toThrow(/parameter PrincipalId has no Default/);
  });
});

describe('CloudFormation short forms, conditions and intrinsic functions', () => {
  const template = parseTemplate(`
Parameters:
  Env: { Type: String, Default: prod, AllowedValues: [prod, dev] }
  Names: { Type: CommaDelimitedList, Default: 'a,b,c' }
  Count: { Type: Number, Default: 0 }
Mappings:
  Sizes: { prod: { Big: 'large' }, dev: { Big: 'small' } }
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  ZeroCount: !Equals [!Ref Count, 0]
  Both: !And [!Condition IsProd, !Condition ZeroCount]
  Either: !Or [!Not [!Condition IsProd], !Condition ZeroCount]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Join ['-', [app, !Select [1, !Ref Names], !FindInMap [Sizes, !Ref Env, Big]]]
  Skipped:
    Type: AWS::IAM::Role
    Condition: NeverTrue
    Properties: { RoleName: nope }
  Bucket:
    Type: AWS::S3::Bucket
    Properties: { BucketName: !Sub '\${AWS::AccountId}-\${Env}' }
Outputs:
  Values:
    Value:
      sub: !Sub 'arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/\${Role} \${!Literal} \${Role.Arn}'
      subVars: !Sub ['\${X}/\${Env}', { X: !GetAtt Bucket.Arn }]
      split: !Split [',', 'x,y']
      list: [one, !If [IsProd, !Ref AWS::NoValue, two], three]
      noKey: !If [Both, !Ref AWS::NoValue, kept]
      longForm: { 'Fn::Join': ['', [{ Ref: 'AWS::Region' }, '!']] }
      getAttList: !GetAtt [Role, Arn]
      base64: !Base64 hi
`);
  const conditions = { NeverTrue: { 'Fn::Equals': ['a', 'b'] } };

  it('evaluates every function the way CloudFormation does', () => {
    const evaluated = evaluateTemplate(
      { ...template, Conditions: { ...(template['Conditions'] as object), ...conditions } },
      {
        parameters: {},
        accountId: '111122223333',
        region: 'eu-west-1',
      },
    );
    expect(evaluated.condition('IsProd')).toBe(true);
    expect(evaluated.condition('ZeroCount')).toBe(true); // a Number parameter's Ref is the string "0"
    expect(evaluated.condition('Both')).toBe(true);
    expect(evaluated.condition('Either')).toBe(true);
    expect(evaluated.resources.map((r) => r.logicalId)).toEqual(['Role', 'Bucket']);
    expect(evaluated.ref('Role')).toBe('app-b-large');
    const outputs = evaluated.evaluate((template['Outputs'] as Record<string, { Value: unknown }>)['Values']?.Value);
    expect(outputs).toEqual({
      sub: 'arn:aws:iam::111122223333:role/app-b-large ${Literal} arn:aws:iam::111122223333:role/app-b-large',
      subVars: 'arn:aws:s3:::111122223333-prod/prod',
      split: ['x', 'y'],
      list: ['one', 'three'],
      longForm: 'eu-west-1!',
      getAttList: 'arn:aws:iam::111122223333:role/app-b-large',
      base64: 'aGk=',
    });
    expect(() => evaluated.ref('Skipped')).toThrow(/not created \(condition NeverTrue is false\)/);
  });

  it('follows parameters into conditions', () => {
    const evaluated = evaluateTemplate(
      { ...template, Conditions: { ...(template['Conditions'] as object), ...conditions } },
      {
        parameters: { Env: 'dev', Count: '2' },
      },
    );
    expect(evaluated.condition('IsProd')).toBe(false);
    expect(evaluated.condition('Either')).toBe(true);
    expect(evaluated.condition('Both')).toBe(false);
    expect(evaluated.ref('Role')).toBe('app-b-small');
  });

  it('reports unknown references and unsupported functions clearly', () => {
    const broken = parseTemplate('Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Ref Missing\n');
    expect(() => evaluateTemplate(broken, { parameters: {} }).ref('R')).toThrow(TemplateError);
    expect(() => evaluateTemplate(broken, { parameters: {} }).ref('R')).toThrow(/Ref Missing: no such parameter/);
    const imported = evaluateTemplate(parseTemplate('Resources: {}'), { parameters: {} });
    expect(() => imported.evaluate({ 'Fn::ImportValue': 'x' })).toThrow(/Fn::ImportValue is not supported/);
    expect(() => parseTemplate('a: [')).toThrow(/not valid YAML/);
  });
});
