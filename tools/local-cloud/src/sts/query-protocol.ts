import { escapeXml } from '../xml-text.js';

// The AWS Query protocol as STS speaks it: parameters in a form body or query string, XML answers.

export const STS_API_VERSION = '2011-06-15';
const NAMESPACE = `https://sts.amazonaws.com/doc/${STS_API_VERSION}/`;

export interface AssumeRoleWithWebIdentityResult {
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date };
  subjectFromWebIdentityToken: string;
  assumedRoleUser: { arn: string; assumedRoleId: string };
  provider: string;
  audience: string;
}

export function assumeRoleWithWebIdentityXml(result: AssumeRoleWithWebIdentityResult, requestId: string): string {
  const { credentials, assumedRoleUser } = result;
  return [
    `<AssumeRoleWithWebIdentityResponse xmlns="${NAMESPACE}">`,
    '  <AssumeRoleWithWebIdentityResult>',
    `    <Audience>${escapeXml(result.audience)}</Audience>`,
    '    <AssumedRoleUser>',
    `      <AssumedRoleId>${escapeXml(assumedRoleUser.assumedRoleId)}</AssumedRoleId>`,
    `      <Arn>${escapeXml(assumedRoleUser.arn)}</Arn>`,
    '    </AssumedRoleUser>',
    `    <Provider>${escapeXml(result.provider)}</Provider>`,
    '    <Credentials>',
    `      <AccessKeyId>${escapeXml(credentials.accessKeyId)}</AccessKeyId>`,
    `      <SecretAccessKey>${escapeXml(credentials.secretAccessKey)}</SecretAccessKey>`,
    `      <SessionToken>${escapeXml(credentials.sessionToken)}</SessionToken>`,
    `      <Expiration>${isoSeconds(credentials.expiration)}</Expiration>`,
    '    </Credentials>',
    `    <SubjectFromWebIdentityToken>${escapeXml(result.subjectFromWebIdentityToken)}</SubjectFromWebIdentityToken>`,
    '  </AssumeRoleWithWebIdentityResult>',
    '  <ResponseMetadata>',
    `    <RequestId>${escapeXml(requestId)}</RequestId>`,
    '  </ResponseMetadata>',
    '</AssumeRoleWithWebIdentityResponse>',
    '',
  ].join('\n');
}

/** `type`: who is at fault, `Sender` (the default, a 4xx) or `Receiver` (a 5xx). */
export function errorXml(error: { code: string; message: string; type?: 'Sender' | 'Receiver' }, requestId: string): string {
  return [
    `<ErrorResponse xmlns="${NAMESPACE}">`,
    '  <Error>',
    `    <Type>${error.type ?? 'Sender'}</Type>`,
    `    <Code>${escapeXml(error.code)}</Code>`,
    `    <Message>${escapeXml(error.message)}</Message>`,
    '  </Error>',
    `  <RequestId>${escapeXml(requestId)}</RequestId>`,
    '</ErrorResponse>',
    '',
  ].join('\n');
}

/** AWS timestamps in STS answers carry whole seconds: 2026-01-01T12:00:00Z. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
