import { describe, expect, it } from 'vitest';
import { ACCESS_KEY_VARIABLE, externalS3, SECRET_KEY_VARIABLE } from '../src/external-s3.js';

const keys = { [ACCESS_KEY_VARIABLE]: 'bench-access', [SECRET_KEY_VARIABLE]: 'bench-secret' };

describe('externalS3 (--s3-endpoint)', () => {
  it('takes the endpoint from the flag and its key pair from the environment', () => {
    expect(externalS3('http://127.0.0.1:8333/', keys)).toEqual({
      endpoint: 'http://127.0.0.1:8333',
      accessKeyId: 'bench-access',
      secretAccessKey: 'bench-secret',
    });
  });

  it('names the variables that are missing, and never echoes the one that is set', () => {
    expect(() => externalS3('http://127.0.0.1:8333', {})).toThrow(`set ${ACCESS_KEY_VARIABLE} and ${SECRET_KEY_VARIABLE}`);
    const onlyAccess = () => externalS3('http://127.0.0.1:8333', { [ACCESS_KEY_VARIABLE]: 'bench-access' });
    expect(onlyAccess).toThrow(`set ${SECRET_KEY_VARIABLE}`);
    expect(onlyAccess).not.toThrow('bench-access');
  });

  it('refuses an endpoint that is not an http(s) URL', () => {
    expect(() => externalS3('127.0.0.1:8333', keys)).toThrow('--s3-endpoint must be an http(s) URL');
    expect(() => externalS3('ftp://127.0.0.1', keys)).toThrow('--s3-endpoint must be an http(s) URL (got ftp:)');
  });
});
