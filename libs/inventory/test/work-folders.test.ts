// The folders a run downloads reports into and spills to: a run that died mid-way leaves its folder, which
// removeLeftoverWorkFolders clears (and only those), so that an instance's small temporary storage does not fill.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeLeftoverWorkFolders } from '../src/index.js';

let parent: string | undefined;
afterEach(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

describe('removeLeftoverWorkFolders', () => {
  it("removes the runs' folders, with their reports and spill, and nothing else", async () => {
    parent = await mkdtemp(join(tmpdir(), 'work-folders-'));
    await mkdir(join(parent, 'blobferry-inventory-abc123', 'spill'), { recursive: true });
    await writeFile(join(parent, 'blobferry-inventory-abc123', 'azure-0.parquet'), 'report');
    await mkdir(join(parent, 'someone-else'));
    await writeFile(join(parent, 'notes.txt'), 'kept');
    expect(await removeLeftoverWorkFolders(parent)).toEqual(['blobferry-inventory-abc123']);
    expect((await readdir(parent)).sort()).toEqual(['notes.txt', 'someone-else']);
  });

  it('finds nothing in a folder that does not exist', async () => {
    expect(await removeLeftoverWorkFolders(join(tmpdir(), 'no-such-folder-for-blobferry'))).toEqual([]);
  });
});
