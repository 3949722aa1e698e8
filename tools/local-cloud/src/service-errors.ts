import { randomBytes, randomUUID } from 'node:crypto';
import { errorXml } from './sts/query-protocol.js';
import { escapeXml } from './xml-text.js';

// An error as each service answers it, in its own format and with its own request-id headers, so that the
// real SDKs parse it as they would the real service's (a RestError with its code, an S3ServiceException named
// after its code) instead of failing on a body they cannot read.

export type CloudService = 'azure' | 's3' | 'sts';

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

export interface ErrorAnswerOptions {
  status: number;
  code: string;
  message: string;
  /** HEAD answers carry no body. */
  method?: string;
}

/** S3's request id: 16 upper-case hex characters. */
const s3RequestId = () => randomBytes(8).toString('hex').toUpperCase();

export function errorAnswer(service: CloudService, o: ErrorAnswerOptions): ErrorAnswer {
  if (service === 's3') {
    const requestId = s3RequestId();
    const hostId = randomBytes(32).toString('base64');
    const body =
      o.method === 'HEAD'
        ? ''
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(o.code)}</Code><Message>${escapeXml(o.message)}</Message><RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`;
    return answer(o.status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'x-amz-id-2': hostId }, body);
  }
  if (service === 'sts') {
    const requestId = randomUUID();
    const body = errorXml({ code: o.code, message: o.message, type: o.status >= 500 ? 'Receiver' : 'Sender' }, requestId);
    return answer(o.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body);
  }
  const requestId = randomUUID();
  const body =
    o.method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="utf-8"?><Error><Code>${escapeXml(o.code)}</Code><Message>${escapeXml(o.message)}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
  return answer(o.status, { 'content-type': 'application/xml', 'x-ms-error-code': o.code, 'x-ms-request-id': requestId }, body);
}

function answer(status: number, headers: Record<string, string>, body: string): ErrorAnswer {
  return { status, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, body };
}

/** What each service answers while it is unavailable (503), as its documentation names it. */
export const UNAVAILABLE: Record<CloudService, { code: string; message: string }> = {
  s3: { code: 'ServiceUnavailable', message: 'The request has failed due to a temporary failure of the server.' },
  sts: { code: 'ServiceUnavailable', message: 'The request has failed due to a temporary failure of the server.' },
  azure: { code: 'ServerBusy', message: 'The server is currently unable to receive requests. Please retry your request.' },
};
