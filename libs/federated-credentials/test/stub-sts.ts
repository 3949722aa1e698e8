// A tiny stand-in for STS AssumeRoleWithWebIdentity (awsQuery XML over HTTP) for unit-level logic:
// scripted failures, request capture. The real-path tests use tools/local-cloud's STS.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubStsRequest {
  roleArn: string;
  roleSessionName: string;
  token: string;
  durationSeconds?: number;
}

export interface StubSts {
  endpoint: string;
  requests: StubStsRequest[];
  /** The next calls answer with this STS error code (and message) instead of credentials. */
  failNext(code: string, options?: { times?: number; message?: string; status?: number }): void;
  /** Sessions issued from now on last this long whatever was asked (undefined: as asked, 3600 s by default). */
  issueSessionsOf(seconds: number | undefined): void;
  close(): Promise<void>;
}

export async function startStubSts(): Promise<StubSts> {
  const requests: StubStsRequest[] = [];
  const failures: { code: string; message: string; status: number }[] = [];
  let issued = 0;
  let sessionSeconds: number | undefined;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const durationSeconds = form.get('DurationSeconds');
      requests.push({
        roleArn: form.get('RoleArn') ?? '',
        roleSessionName: form.get('RoleSessionName') ?? '',
        token: form.get('WebIdentityToken') ?? '',
        ...(durationSeconds ? { durationSeconds: Number(durationSeconds) } : {}),
      });
      const failure = failures.shift();
      res.setHeader('content-type', 'text/xml');
      if (failure) {
        res.statusCode = failure.status;
        res.end(
          `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
            `<Code>${failure.code}</Code><Message>${escapeXml(failure.message)}</Message></Error>` +
            `<RequestId>stub-${requests.length}</RequestId></ErrorResponse>`,
        );
        return;
      }
      issued++;
      const expiration = new Date(Date.now() + (sessionSeconds ?? (durationSeconds ? Number(durationSeconds) : 3600)) * 1000);
      res.end(
        `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>` +
          `<Credentials><AccessKeyId>ASIASTUB${issued}</AccessKeyId><SecretAccessKey>secret-${issued}</SecretAccessKey>` +
          `<SessionToken>session-${issued}</SessionToken><Expiration>${expiration.toISOString()}</Expiration></Credentials>` +
          `<SubjectFromWebIdentityToken>stub</SubjectFromWebIdentityToken><Audience>stub</Audience><Provider>stub</Provider>` +
          `<AssumedRoleUser><Arn>arn:aws:sts::000000000000:assumed-role/stub/stub</Arn><AssumedRoleId>AROASTUB:stub</AssumedRoleId></AssumedRoleUser>` +
          `</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>stub-${requests.length}</RequestId></ResponseMetadata>` +
          `</AssumeRoleWithWebIdentityResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    failNext(code, options = {}) {
      for (let i = 0; i < (options.times ?? 1); i++) {
        failures.push({ code, message: options.message ?? `stub ${code}`, status: options.status ?? 400 });
      }
    },
    issueSessionsOf(seconds) {
      sessionSeconds = seconds;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
