import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeTokenClaims, writeWebIdentityTokenFile } from '../src/index.js';
import { STUB_PRINCIPAL, StubCredential } from './stub-credential.js';

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('writeWebIdentityTokenFile (stub credential)', () => {
  it('writes the token for the audience with mode 0600, replacing an older file atomically', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'blobferry-token-'));
    directories.push(directory);
    const path = join(directory, 'azure', 'token');
    const credential = new StubCredential();
    await writeWebIdentityTokenFile({ credential, audience: 'api://blobferry-backup', path });
    const first = await readFile(path, 'utf8');
    const result = await writeWebIdentityTokenFile({ credential, audience: 'api://blobferry-backup', path });
    const second = await readFile(path, 'utf8');
    expect(second).not.toBe(first);
    expect(decodeTokenClaims(second)).toMatchObject({ aud: 'api://blobferry-backup', sub: STUB_PRINCIPAL });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(directory, 'azure'))).toEqual(['token']);
    expect(result.expiresOn.getTime()).toBeGreaterThan(Date.now());
  });
});
