import { readFile } from 'node:fs/promises';
import { TemplateError, evaluateTemplate, oidcProviderArn, parseTemplate, roleArn, roleId } from '@blobferry/cloudformation';
import { z } from 'zod';
import type { PolicyDocument } from './policy.js';

// The slice of IAM the local STS needs, as the template would create it.

export interface OidcProvider {
  arn: string;
  /** `https://host/path` exactly as registered (e.g. `https://sts.windows.net/<tenant>/`). */
  url: string;
  clientIds: readonly string[];
}

export interface IamRole {
  arn: string;
  name: string;
  roleId: string;
  maxSessionDurationSeconds: number;
  trustPolicy: PolicyDocument;
  /** Its inline policies (`Policies`): what its sessions may do. */
  policies: readonly PolicyDocument[];
}

export interface IamModel {
  accountId: string;
  providers: readonly OidcProvider[];
  roles: readonly IamRole[];
}

export interface LoadIamModelOptions {
  templatePath: string;
  templateParameters: Record<string, string>;
  accountId?: string;
  region?: string;
}

export async function loadIamModel(options: LoadIamModelOptions): Promise<IamModel> {
  const text = await readFile(options.templatePath, 'utf8');
  try {
    return buildIamModel(parseTemplate(text, options.templatePath), options);
  } catch (error) {
    if (error instanceof TemplateError) {
      throw new TemplateError(`${options.templatePath}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

export function buildIamModel(template: Record<string, unknown>, options: Omit<LoadIamModelOptions, 'templatePath'>): IamModel {
  const accountId = options.accountId ?? '000000000000';
  const evaluated = evaluateTemplate(template, {
    parameters: options.templateParameters,
    accountId,
    ...(options.region ? { region: options.region } : {}),
  });

  const providers: OidcProvider[] = [];
  const roles: IamRole[] = [];
  for (const resource of evaluated.resources) {
    if (resource.type === 'AWS::IAM::OIDCProvider') {
      const url = evaluated.evaluate(resource.properties['Url']);
      const clientIds = evaluated.evaluate(resource.properties['ClientIdList']) ?? [];
      if (typeof url !== 'string' || !url.startsWith('https://')) {
        throw new TemplateError(`${resource.logicalId}.Url must be an https:// URL`);
      }
      if (!Array.isArray(clientIds)) throw new TemplateError(`${resource.logicalId}.ClientIdList must be a list`);
      providers.push({ arn: oidcProviderArn(accountId, url), url, clientIds: clientIds.map(String) });
    }
    if (resource.type === 'AWS::IAM::Role') {
      const name = evaluated.ref(resource.logicalId);
      const maxSession = evaluated.evaluate(resource.properties['MaxSessionDuration']);
      const managed = evaluated.evaluate(resource.properties['ManagedPolicyArns']);
      if (Array.isArray(managed) && managed.length > 0) {
        throw new TemplateError(
          `${resource.logicalId}.ManagedPolicyArns: the local IAM models inline Policies only, so it cannot enforce what a managed policy grants`,
        );
      }
      const inline = evaluated.evaluate(resource.properties['Policies']) ?? [];
      if (!Array.isArray(inline)) throw new TemplateError(`${resource.logicalId}.Policies must be a list`);
      roles.push({
        arn: roleArn(accountId, name),
        name,
        roleId: roleId(name),
        maxSessionDurationSeconds: maxSession === undefined ? 3600 : Number(maxSession),
        trustPolicy: policyDocument(
          `${resource.logicalId}.AssumeRolePolicyDocument`,
          evaluated.evaluate(resource.properties['AssumeRolePolicyDocument']),
        ),
        policies: inline.map((policy, index) =>
          policyDocument(
            `${resource.logicalId}.Policies[${index}].PolicyDocument`,
            inlinePolicySchema.safeParse(policy).data?.PolicyDocument,
          ),
        ),
      });
    }
  }

  // Policies of their own (AWS::IAM::Policy) add to the roles they name, as IAM attaches them.
  for (const resource of evaluated.resources) {
    if (resource.type !== 'AWS::IAM::Policy') continue;
    const document = policyDocument(`${resource.logicalId}.PolicyDocument`, evaluated.evaluate(resource.properties['PolicyDocument']));
    const named = evaluated.evaluate(resource.properties['Roles']) ?? [];
    if (!Array.isArray(named)) throw new TemplateError(`${resource.logicalId}.Roles must be a list`);
    for (const name of named.map(String)) {
      const index = roles.findIndex((role) => role.name === name);
      const role = roles[index];
      if (!role) throw new TemplateError(`${resource.logicalId}.Roles names ${JSON.stringify(name)}, which the template does not create`);
      roles[index] = { ...role, policies: [...role.policies, document] };
    }
  }

  // A role may trust a provider the stack does not create (ExistingOidcProviderArn). Locally such a
  // provider is registered as its ARN describes it, with the template's Audience as its client id,
  // which is what the template's parameter description asks the operator to set up.
  for (const federated of roles.flatMap((role) => federatedPrincipals(role.trustPolicy))) {
    const match = /^arn:aws:iam::(\d{12}):oidc-provider\/(.+)$/.exec(federated);
    if (!match || providers.some((provider) => provider.arn === federated)) continue;
    const audience = evaluated.parameters['Audience'];
    providers.push({ arn: federated, url: `https://${match[2]}`, clientIds: audience ? [audience] : [] });
  }
  return { accountId, providers, roles };
}

const inlinePolicySchema = z.looseObject({ PolicyDocument: z.unknown() });
const policyDocumentSchema = z.looseObject({ Statement: z.unknown().refine((statement) => statement !== undefined) });
const federatedPrincipalSchema = z.looseObject({ Federated: z.union([z.string(), z.array(z.string())]).optional() });

function policyDocument(where: string, value: unknown): PolicyDocument {
  let document = value;
  if (typeof value === 'string') {
    try {
      document = JSON.parse(value);
    } catch (error) {
      throw new TemplateError(`${where} is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (!policyDocumentSchema.safeParse(document).success) throw new TemplateError(`${where} must be a policy document with a Statement`);
  return document as PolicyDocument;
}

function federatedPrincipals(policy: PolicyDocument): string[] {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  return statements.flatMap((statement) => {
    const federated = federatedPrincipalSchema.safeParse(statement.Principal).data?.Federated;
    return Array.isArray(federated) ? federated : federated === undefined ? [] : [federated];
  });
}
