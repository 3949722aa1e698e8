import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ManagedIdentityInfo } from '../types.js';

// The two managed identity token endpoints @azure/identity (through MSAL Node's AppService and Imds
// sources) calls, with the request and response shapes those sources send and parse.

export interface IssuedToken {
  accessToken: string;
  /** Seconds since the epoch. */
  expiresOn: number;
  audience: string;
}

export interface ManagedIdentityEndpointContext {
  identities: readonly ManagedIdentityInfo[];
  /** Served when a request names no identity. */
  defaultIdentity: ManagedIdentityInfo;
  /** Secret the App Service style endpoint expects in `X-IDENTITY-HEADER`. */
  identityHeader: string;
  issue(identity: ManagedIdentityInfo, resource: string): Promise<IssuedToken>;
}

export interface EndpointResponse {
  status: number;
  body: Record<string, unknown>;
}

export const APP_SERVICE_TOKEN_PATH = '/msi/token';
export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';

const APP_SERVICE_API_VERSIONS = new Set(['2019-08-01']);
// MSAL sends 2018-02-01; the others are versions IMDS documents for the token endpoint.
const IMDS_API_VERSIONS = new Set(['2018-02-01', '2019-08-01', '2021-02-01', '2025-04-07']);

type Selector = { by: 'clientId' | 'principalId' | 'resourceId'; value: string };

/** App Service / Functions style: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, api-version 2019-08-01. */
export async function handleAppServiceTokenRequest(
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  context: ManagedIdentityEndpointContext,
): Promise<EndpointResponse> {
  const fail = (status: number, message: string): EndpointResponse => ({
    status,
    // The App Service token service reports errors as { statusCode, message, correlationId }.
    body: { statusCode: status, message, correlationId: randomUUID() },
  });
  if (!sameSecret(headerValue(headers['x-identity-header']), context.identityHeader)) {
    return fail(401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
  }
  const apiVersion = query.get('api-version');
  if (!apiVersion || !APP_SERVICE_API_VERSIONS.has(apiVersion)) {
    return fail(400, `Unsupported or missing api-version '${apiVersion ?? ''}'; use api-version=2019-08-01.`);
  }
  const resource = query.get('resource');
  if (!resource) return fail(400, "The 'resource' query parameter is required.");
  const selectors = collectSelectors(query, { principal_id: 'principalId', object_id: 'principalId', mi_res_id: 'resourceId' });
  if (selectors.length > 1) {
    return fail(400, 'Specify at most one of client_id, principal_id/object_id and mi_res_id.');
  }
  const identity = selectIdentity(selectors[0], context);
  if (!identity) return fail(400, 'No Managed Identity found for specified ClientId/ResourceId/PrincipalId.');
  const token = await context.issue(identity, resource);
  return {
    status: 200,
    body: {
      access_token: token.accessToken,
      expires_on: String(token.expiresOn),
      resource: token.audience,
      token_type: 'Bearer',
      client_id: identity.clientId,
    },
  };
}

/** Instance Metadata Service style (`AZURE_POD_IDENTITY_AUTHORITY_HOST` overrides 169.254.169.254). */
export async function handleImdsTokenRequest(
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  context: ManagedIdentityEndpointContext,
): Promise<EndpointResponse> {
  const fail = (status: number, description: string): EndpointResponse => ({
    status,
    body: { error: 'invalid_request', error_description: description },
  });
  // IMDS answers a request without `Metadata: true` with 400 at once; @azure/identity's availability
  // probe sends exactly that (no header, no query) and treats any answer as "IMDS is there".
  if (headerValue(headers['metadata'])?.toLowerCase() !== 'true') {
    return fail(400, 'Required metadata header not specified');
  }
  const apiVersion = query.get('api-version');
  if (!apiVersion) return fail(400, "Required query variable 'api-version' is missing");
  if (!IMDS_API_VERSIONS.has(apiVersion)) return fail(400, `Invalid version '${apiVersion}'`);
  const resource = query.get('resource');
  if (!resource) return fail(400, "Required query variable 'resource' is missing");
  const selectors = collectSelectors(query, { object_id: 'principalId', msi_res_id: 'resourceId' });
  if (selectors.length > 1) return fail(400, 'Specify at most one of client_id, object_id and msi_res_id');
  const identity = selectIdentity(selectors[0], context);
  if (!identity) return fail(400, 'Identity not found');
  const token = await context.issue(identity, resource);
  const now = Math.floor(Date.now() / 1000);
  // IMDS sends every field as a string.
  return {
    status: 200,
    body: {
      access_token: token.accessToken,
      client_id: identity.clientId,
      expires_in: String(token.expiresOn - now),
      expires_on: String(token.expiresOn),
      ext_expires_in: String(token.expiresOn - now),
      not_before: String(now),
      resource: token.audience,
      token_type: 'Bearer',
    },
  };
}

function collectSelectors(query: URLSearchParams, otherNames: Record<string, 'principalId' | 'resourceId'>): Selector[] {
  const selectors: Selector[] = [];
  const clientId = query.get('client_id');
  if (clientId) selectors.push({ by: 'clientId', value: clientId });
  for (const [name, by] of Object.entries(otherNames)) {
    const value = query.get(name);
    if (value) selectors.push({ by, value });
  }
  return selectors;
}

function selectIdentity(selector: Selector | undefined, context: ManagedIdentityEndpointContext): ManagedIdentityInfo | undefined {
  if (!selector) return context.defaultIdentity;
  // GUIDs and ARM resource ids compare case-insensitively in Azure.
  const wanted = selector.value.toLowerCase();
  return context.identities.find((identity) => identity[selector.by].toLowerCase() === wanted);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
