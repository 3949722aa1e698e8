import { createHash } from 'node:crypto';

// A staged block's id names the version it comes from, its place, and the CRC of its bytes as they were sent
// (Azure checked them against the block's transactional MD5). A rerun after an interruption reads the ids of the
// uncommitted blocks back (Get Block List) and keeps those of the same version and place: their CRCs still go into
// the full-object check without the bytes being read again. Every id of a blob has the same length, as Azure wants.

export interface StagedBlock {
  index: number;
  /** The block's CRC32 or CRC32C, 4 bytes big-endian, base64 (as S3 spells checksums). */
  checksumBase64: string;
}

/** 12 hex digits that tell one version of one key from another. */
export function versionTag(key: string, versionId: string): string {
  return createHash('sha256').update(`${key}\n${versionId}`).digest('hex').slice(0, 12);
}

export function blockIdOf(tag: string, block: StagedBlock): string {
  const checksumHex = Buffer.from(block.checksumBase64, 'base64').toString('hex');
  return Buffer.from(`${tag}:${String(block.index).padStart(5, '0')}:${checksumHex}`).toString('base64');
}

/** The block an id stands for, when it is one of this version's; undefined for anything else. */
export function stagedBlockOf(tag: string, blockId: string): StagedBlock | undefined {
  const match = /^([0-9a-f]{12}):(\d{5}):([0-9a-f]{8})$/.exec(Buffer.from(blockId, 'base64').toString('latin1'));
  if (!match || match[1] !== tag) return undefined;
  return { index: Number(match[2]), checksumBase64: Buffer.from(match[3] ?? '', 'hex').toString('base64') };
}
