import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { S3_CHECKSUMS } from '@blobferry/transfer';
import { z } from 'zod';

// Production code may not import @blobferry/local-cloud, so the shape of `.local-cloud/stack.json`
// (tools/local-cloud/src/types.ts, `Stack`) is restated here and checked at the boundary.
const managedIdentitySchema = z.object({
  clientId: z.string(),
  principalId: z.string(),
  resourceId: z.string(),
});

const localStackSchema = z.object({
  azure: z.object({
    blobEndpoint: z.string(),
    accountName: z.string(),
    accountKey: z.string(),
    connectionString: z.string(),
    sourceContainer: z.string(),
  }),
  aws: z.object({
    region: z.string(),
    s3Endpoint: z.string(),
    bucket: z.string(),
    prefix: z.string(),
    stsEndpoint: z.string(),
    roleArn: z.string(),
    emulatorAccessKeyId: z.string(),
    emulatorSecretAccessKey: z.string(),
    s3Features: z.object({ checksum: z.enum(S3_CHECKSUMS), conditionalWrites: z.boolean() }),
  }),
  identity: z.object({
    tenantId: z.string(),
    issuer: z.string(),
    audience: z.string(),
    identityEndpoint: z.string(),
    identityHeader: z.string(),
    imdsHost: z.string(),
    backupIdentity: managedIdentitySchema,
    intruderIdentity: managedIdentitySchema,
    systemIdentity: managedIdentitySchema,
  }),
  events: z.object({ deadLetter: z.string(), queueName: z.string() }),
});

export type LocalStack = z.infer<typeof localStackSchema>;

export const DEFAULT_STACK_PATH = '.local-cloud/stack.json';

/** The stack file is missing, unreadable or not a stack: a configuration error (exit code 2). */
export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';
}

/** Reads the endpoints and identities the local cloud published (`npm start` / `local-cloud up` writes them). */
export async function loadLocalStack(path: string = DEFAULT_STACK_PATH): Promise<LocalStack> {
  const absolutePath = resolve(path);
  let text: string;
  try {
    text = await readFile(absolutePath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LocalStackError(
        `No local cloud stack file at ${absolutePath}. Start the local cloud first (\`npm start\` at the ` +
          'repository root, or `npx local-cloud up`), or point --stack at its stack.json.',
      );
    }
    throw new LocalStackError(`Cannot read the local cloud stack file ${absolutePath}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LocalStackError(
      `${absolutePath} is not valid JSON (${(error as Error).message}); restart the local cloud (\`npm start\`) to rewrite it.`,
    );
  }
  const parsed = localStackSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new LocalStackError(
      `${absolutePath} does not look like a local cloud stack file (${problems}); restart the local cloud ` +
        '(`npm start`) so it is rewritten by the current version.',
    );
  }
  return parsed.data;
}
