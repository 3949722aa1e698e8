import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stackSchema, type Stack } from '@blobferry/contract';

export const DEFAULT_STACK_PATH = '.local-cloud/stack.json';

/** The stack file is missing, unreadable or not a stack: a configuration error (exit code 2). */
export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';
}

/** Reads the endpoints and identities the local cloud published (`npm start` / `local-cloud up` writes them). */
export async function loadLocalStack(path: string = DEFAULT_STACK_PATH): Promise<Stack> {
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
  const parsed = stackSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new LocalStackError(
      `${absolutePath} does not look like a local cloud stack file (${problems}); restart the local cloud ` +
        '(`npm start`) so it is rewritten by the current version.',
    );
  }
  return parsed.data;
}
