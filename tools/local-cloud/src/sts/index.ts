import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assumeRoleWithWebIdentity } from './assume-role-with-web-identity.js';
import { StsError } from './errors.js';
import { type IamModel, loadIamModel } from '../iam/model.js';
import type { RoleSessions } from '../iam/sessions.js';
import { STS_API_VERSION, assumeRoleWithWebIdentityXml, errorXml } from './query-protocol.js';
import { IssuerKeys } from './web-identity-verifier.js';
import { closeServer } from '../close-server.js';
import { readRequestBody } from '../request-body.js';

export { TemplateError } from '@blobferry/cloudformation';
export { shippedTrust } from './shipped-trust.js';

export interface StartStsOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The CloudFormation template holding the OIDC provider and the role (infra/aws-iam/template.yaml). */
  templatePath: string;
  templateParameters: Record<string, string>;
  /** AWS provider URL (`https://sts.windows.net/<tenant>/`) -> local issuer URL standing for it. */
  issuerAliases: Record<string, string>;
  /**
   * What a session's keys are: its own pair, registered in these RoleSessions for the S3 gateway that
   * enforces the role's policies; or, for an S3 endpoint the local cloud does not front, that endpoint's
   * static pair (which it alone checks).
   */
  credentials: RoleSessions | { accessKeyId: string; secretAccessKey: string };
  accountId?: string;
  log?: (entry: Record<string, unknown>) => void;
}

export type InjectableStsFault = 'Throttling' | 'IDPCommunicationError';

export interface Sts {
  endpoint: string;
  /** ARN of the template's (first) role. */
  roleArn: string;
  /** The OIDC providers and roles read from the template (the S3 gateway enforces the roles' policies). */
  model: IamModel;
  /** Every HTTP request received, answered or failed. */
  requestCount(): number;
  /** The next `times` (default 1) requests fail with this error before any other check. */
  failNext(code: InjectableStsFault, times?: number): void;
  /**
   * Sessions issued from now on expire after `seconds` whatever DurationSeconds asked (undefined: as
   * asked). Real STS grants at least 900 s; a session inside the AWS SDK's 5-minute refresh window lets
   * a test watch clients refresh credentials at every request.
   */
  issueSessionsOf(seconds: number | undefined): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

const INJECTED: Record<InjectableStsFault, string> = {
  Throttling: 'Rate exceeded',
  IDPCommunicationError:
    "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
};

/** Starts a loopback STS answering AssumeRoleWithWebIdentity for the template's role. */
export async function startSts(options: StartStsOptions): Promise<Sts> {
  const model = await loadIamModel({
    templatePath: options.templatePath,
    templateParameters: options.templateParameters,
    ...(options.accountId ? { accountId: options.accountId } : {}),
  });
  const [firstRole] = model.roles;
  if (!firstRole) throw new Error(`${options.templatePath} declares no AWS::IAM::Role: the local STS has nothing to assume`);
  const log = options.log ?? (() => undefined);
  const keys = new IssuerKeys();
  const faults: { code: InjectableStsFault; remaining: number }[] = [];
  let requests = 0;
  let sessionSeconds: number | undefined;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    requests += 1;
    const requestId = randomUUID();
    let action: string | null = null;
    try {
      const fault = faults[0];
      if (fault) {
        fault.remaining -= 1;
        if (fault.remaining <= 0) faults.shift();
        throw new StsError(fault.code, INJECTED[fault.code], 'injected by failNext');
      }
      const params = await readParameters(request);
      action = params.get('Action');
      if (!action) throw new StsError('MissingAction', 'Missing Action');
      const version = params.get('Version');
      if (action !== 'AssumeRoleWithWebIdentity' || (version !== null && version !== STS_API_VERSION)) {
        throw new StsError(
          'InvalidAction',
          `Could not find operation ${action} for version ${version ?? STS_API_VERSION} (the local STS implements AssumeRoleWithWebIdentity only)`,
        );
      }
      const outcome = await assumeRoleWithWebIdentity(params, {
        model,
        issuerAliases: options.issuerAliases,
        keys,
        credentials: options.credentials,
        ...(sessionSeconds === undefined ? {} : { sessionSeconds }),
      });
      log({ service: 'sts', action, requestId, outcome: 'issued', ...outcome.log });
      sendXml(response, 200, requestId, assumeRoleWithWebIdentityXml(outcome.result, requestId));
    } catch (error) {
      const stsError =
        error instanceof StsError ? error : new StsError('ValidationError', 'The request could not be processed', String(error));
      log({
        service: 'sts',
        action,
        requestId,
        outcome: 'error',
        code: stsError.code,
        message: stsError.message,
        ...(stsError.detail ? { detail: stsError.detail } : {}),
      });
      sendXml(response, stsError.status, requestId, errorXml(stsError, requestId));
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const endpoint = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  log({ service: 'sts', event: 'listening', endpoint, roleArn: firstRole.arn, providers: model.providers.map((p) => p.url) });

  return {
    endpoint,
    roleArn: firstRole.arn,
    model,
    requestCount: () => requests,
    failNext(code, times = 1) {
      if (times > 0) faults.push({ code, remaining: times });
    },
    issueSessionsOf(seconds) {
      sessionSeconds = seconds;
    },
    close: () => closeServer(server),
  };
}

/** Query-protocol parameters: the query string, overlaid by a form-encoded POST body. */
async function readParameters(request: IncomingMessage): Promise<URLSearchParams> {
  const params = new URL(request.url ?? '/', 'http://local').searchParams;
  if (request.method === 'GET') return params;
  if (request.method !== 'POST') throw new StsError('InvalidAction', `HTTP method ${String(request.method)} is not supported`);
  const body = await readRequestBody(request, MAX_BODY_BYTES, () => new StsError('ValidationError', 'Request body too large'));
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.set(key, value);
  return params;
}

function sendXml(response: ServerResponse, status: number, requestId: string, body: string): void {
  response.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
  });
  response.end(body);
}
