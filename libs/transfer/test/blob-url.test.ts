import { describe, expect, it } from 'vitest';
import { isRetryable } from '../src/classify.js';
import { InvalidBlobUrlError, PermanentTransferError } from '../src/errors.js';
import { parseBlobUrl } from '../src/index.js';

describe('parseBlobUrl', () => {
  it('parses host-style Azure URLs', () => {
    expect(parseBlobUrl('https://acct01.blob.core.windows.net/photos/2024/cat.jpg')).toEqual({
      accountUrl: 'https://acct01.blob.core.windows.net',
      account: 'acct01',
      container: 'photos',
      blobName: '2024/cat.jpg',
    });
  });

  it('parses path-style emulator URLs (Azurite)', () => {
    expect(parseBlobUrl('http://127.0.0.1:10000/devstoreaccount1/source/a/b.txt')).toEqual({
      accountUrl: 'http://127.0.0.1:10000/devstoreaccount1',
      account: 'devstoreaccount1',
      container: 'source',
      blobName: 'a/b.txt',
    });
    expect(parseBlobUrl('http://localhost:10000/devstoreaccount1/c01/x').account).toBe('devstoreaccount1');
  });

  it('percent-decodes the blob name and keeps //, .. segments and a trailing slash verbatim', () => {
    const cases: Array<[string, string]> = [
      ['my%20file%20(1).txt', 'my file (1).txt'],
      ['%E6%97%A5%E6%9C%AC%F0%9F%98%80.bin', '日本😀.bin'],
      ['a%23b%3Fc%25d%2Be', 'a#b?c%d+e'],
      ['a//b', 'a//b'],
      ['a/../b/./c', 'a/../b/./c'],
      ['%2E%2E/x', '../x'],
      ['dir/', 'dir/'],
      ['a+b', 'a+b'],
    ];
    for (const [encoded, name] of cases) {
      expect(parseBlobUrl(`https://acct01.blob.core.windows.net/c01/${encoded}`).blobName).toBe(name);
    }
  });

  it('drops the query (a SAS) and never echoes it in errors', () => {
    expect(parseBlobUrl('https://acct01.blob.core.windows.net/c01/x.txt?sv=2024&sig=SECRET').blobName).toBe('x.txt');
    let message = '';
    try {
      parseBlobUrl('https://example.com/c01/x.txt?sv=2024&sig=SECRET');
    } catch (error) {
      message = (error as Error).message;
      expect(error).toBeInstanceOf(InvalidBlobUrlError);
    }
    expect(message).toContain('example.com');
    expect(message).not.toContain('SECRET');
  });

  it('rejects anything else as a permanent error', () => {
    for (const url of [
      '',
      'not a url',
      'ftp://acct01.blob.core.windows.net/c01/x',
      'https://acct01.blob.core.windows.net/',
      'https://acct01.blob.core.windows.net/c01',
      'https://acct01.blob.core.windows.net/c01/',
      'https://acct01.blob.core.windows.net/Bad_Container/x',
      'https://acct01.queue.core.windows.net/c01/x',
      'https://evil.example/acct01.blob.core.windows.net/c01/x',
      'https://user@acct01.blob.core.windows.net/c01/x',
      'http://127.0.0.1:10000/devstoreaccount1/c01',
      'https://acct01.blob.core.windows.net/c01/bad%E0%A4%A',
    ]) {
      expect(() => parseBlobUrl(url), url).toThrow(InvalidBlobUrlError);
    }
    const error = (() => {
      try {
        parseBlobUrl('nope');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(PermanentTransferError);
    expect(isRetryable(error)).toBe(false);
  });
});
