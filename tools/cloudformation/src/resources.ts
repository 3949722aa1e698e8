import type { Conditions } from './conditions.js';
import { oidcProviderArn, roleArn, roleId } from './resource-ids.js';
import { TemplateError } from './template-error.js';
import { isRecord, recordAt } from './values.js';

export interface TemplateResource {
  logicalId: string;
  type: string;
  properties: Record<string, unknown>;
}

export interface CreateResourcesOptions {
  declarations: Record<string, unknown>;
  conditions: Conditions;
  evaluate: (fragment: unknown) => unknown;
  accountId: string;
  stackName: string;
}

export interface Resources {
  /** Resources whose Condition holds, in template order, with unevaluated properties. */
  created(): TemplateResource[];
  declares(logicalId: string): boolean;
  /** What `Ref` returns for a resource. */
  ref(logicalId: string): string;
  getAtt(logicalId: string, attribute: string): string;
}

interface DeclaredResource {
  logicalId: string;
  properties: Record<string, unknown>;
  options: CreateResourcesOptions;
}

// What `Ref` returns, by resource type (its physical id; the ARN for an OIDC provider). Any other
// type's Ref is its logical id.
const PHYSICAL_IDS = new Map<string, (resource: DeclaredResource) => string>([
  [
    'AWS::IAM::OIDCProvider',
    ({ logicalId, properties, options }) => oidcProviderArn(options.accountId, urlProperty(logicalId, options.evaluate(properties['Url']))),
  ],
  // Without a name CloudFormation generates one from the stack and the logical id.
  [
    'AWS::IAM::Role',
    ({ logicalId, properties, options }) => optionalString(options.evaluate(properties['RoleName'])) ?? `${options.stackName}-${logicalId}`,
  ],
  [
    'AWS::S3::Bucket',
    ({ logicalId, properties, options }) =>
      optionalString(options.evaluate(properties['BucketName'])) ?? `${options.stackName}-${logicalId.toLowerCase()}`,
  ],
]);

// What `Fn::GetAtt` returns, by `<type>.<attribute>`, from the resource's physical id.
const ATTRIBUTES = new Map<string, (physicalId: string, accountId: string) => string>([
  ['AWS::IAM::Role.Arn', (name, accountId) => roleArn(accountId, name)],
  ['AWS::IAM::Role.RoleId', (name) => roleId(name)],
  ['AWS::IAM::OIDCProvider.Arn', (arn) => arn],
  ['AWS::S3::Bucket.Arn', (bucket) => `arn:aws:s3:::${bucket}`],
]);

/** Reads resources on demand, so properties nobody asks for cannot break loading. */
export function createResources(options: CreateResourcesOptions): Resources {
  const { declarations, conditions } = options;

  function createdDeclaration(logicalId: string): Record<string, unknown> {
    const declaration = declarations[logicalId];
    if (!isRecord(declaration)) throw new TemplateError(`resource ${logicalId} is not declared`);
    const condition = declaration['Condition'];
    if (typeof condition === 'string' && !conditions.holds(condition)) {
      throw new TemplateError(`resource ${logicalId} is not created (condition ${condition} is false) but is referenced`);
    }
    return declaration;
  }

  function ref(logicalId: string): string {
    const declaration = createdDeclaration(logicalId);
    const physicalId = PHYSICAL_IDS.get(String(declaration['Type']));
    return physicalId ? physicalId({ logicalId, properties: recordAt(declaration, 'Properties'), options }) : logicalId;
  }

  function getAtt(logicalId: string, attribute: string): string {
    const type = createdDeclaration(logicalId)['Type'];
    const attributeOf = ATTRIBUTES.get(`${String(type)}.${attribute}`);
    if (!attributeOf) throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute} (${String(type)}) is not supported locally`);
    return attributeOf(ref(logicalId), options.accountId);
  }

  function created(): TemplateResource[] {
    const resources: TemplateResource[] = [];
    for (const [logicalId, declaration] of Object.entries(declarations)) {
      if (!isRecord(declaration)) throw new TemplateError(`resource ${logicalId} must be a mapping`);
      const condition = declaration['Condition'];
      if (typeof condition === 'string' && !conditions.holds(condition)) continue;
      resources.push({ logicalId, type: String(declaration['Type']), properties: recordAt(declaration, 'Properties') });
    }
    return resources;
  }

  return { created, declares: (logicalId) => logicalId in declarations, ref, getAtt };
}

function urlProperty(logicalId: string, value: unknown): string {
  if (typeof value !== 'string') throw new TemplateError(`${logicalId}.Url must be a string`);
  return value;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
