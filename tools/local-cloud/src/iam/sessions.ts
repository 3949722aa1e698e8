import { randomBytes } from 'node:crypto';

export interface IssueSessionOptions {
  roleArn: string;
  assumedRoleArn: string;
  expiration: Date;
}

// Temporary credentials the local STS issues, one key pair per session as AWS STS issues them, so the
// S3 gateway can tell whose request it is, refuse it once the session has expired, and enforce that
// role's policies.

export interface RoleSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** The role whose policies bound the session. */
  roleArn: string;
  /** `arn:aws:sts::<account>:assumed-role/<role>/<session name>`: the caller S3 names in its errors. */
  assumedRoleArn: string;
}

const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Sessions stay known this long after they expire, so a late request is told ExpiredToken, not "unknown key". */
const KEEP_EXPIRED_MS = 24 * 60 * 60 * 1000;

export class RoleSessions {
  readonly #byAccessKeyId = new Map<string, RoleSession>();

  issue(o: IssueSessionOptions): RoleSession {
    const now = Date.now();
    for (const [id, session] of this.#byAccessKeyId)
      if (session.expiration.getTime() + KEEP_EXPIRED_MS < now) this.#byAccessKeyId.delete(id);
    const session: RoleSession = {
      // ASIA: the prefix of temporary (STS) access key ids.
      accessKeyId: `ASIA${[...randomBytes(16)].map((byte) => KEY_ID_ALPHABET[byte % KEY_ID_ALPHABET.length]).join('')}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      ...o,
    };
    this.#byAccessKeyId.set(session.accessKeyId, session);
    return session;
  }

  find(accessKeyId: string): RoleSession | undefined {
    return this.#byAccessKeyId.get(accessKeyId);
  }
}
