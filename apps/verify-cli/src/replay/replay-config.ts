import { DEFAULT_BACKUP_QUEUE_NAME, poisonQueueOf, type Stack } from '@blobferry/contract';
import { z } from 'zod';
import { ConfigurationError } from '../cli-errors.js';
import { loadLocalStack } from '../local-stack.js';
import { parse, urlSchema } from '../verify/verify-config.js';

/** The replay command's flags as commander hands them over. */
export interface ReplayFlags {
  from?: string;
  queueUrl?: string;
  queueName?: string;
  connectionString?: string;
  deadLetterContainerUrl?: string;
  subscriptionName?: string;
  local?: boolean;
  stack?: string;
  dryRun?: boolean;
  json?: boolean;
  progress?: boolean;
}

export const REPLAY_SOURCES = ['all', 'poison', 'dead-letters'] as const;

/** The backup queue and its poison queue, and the caller's identity for them. */
export type ReplayQueues =
  | { kind: 'connection-string'; connectionString: string; queueName: string; poisonQueueName: string }
  | { kind: 'default-credential'; queueUrl: string; poisonQueueUrl: string };

/** Event Grid's dead-letter container and the subscription whose dead letters are read there. */
export interface DeadLetterSource {
  containerUrl: string;
  subscriptionName: string;
  /** Signs with this connection string's key (local use) instead of DefaultAzureCredential. */
  connectionString: string | undefined;
}

export interface ReplayConfig {
  queues: ReplayQueues;
  poison: boolean;
  /** Undefined when the dead letters are not asked for (`--from poison`) or not named (`--from all`). */
  deadLetters: DeadLetterSource | undefined;
  /** `--from all` without the dead letters named: the report says so. */
  deadLettersUnnamed: boolean;
  dryRun: boolean;
  format: 'human' | 'json';
  progress: 'auto' | 'always' | 'never';
}

const fromSchema = z.enum(REPLAY_SOURCES, { error: () => `--from must be one of ${REPLAY_SOURCES.join(', ')}` });
/** The poison queue's URL beside the backup queue's: `<queue>-poison` in the same queue service. */
function poisonQueueUrlOf(queueUrl: string): string {
  const url = new URL(queueUrl);
  const segments = url.pathname.split('/');
  const queueName = segments.pop() || segments.pop() || DEFAULT_BACKUP_QUEUE_NAME;
  url.pathname = [...segments, poisonQueueOf(queueName)].join('/');
  url.search = '';
  return url.toString();
}

function replayQueues(flags: ReplayFlags, connectionString: string | undefined, stack: Stack | undefined): ReplayQueues {
  if (flags.queueUrl) {
    const queueUrl = parse(urlSchema('--queue-url'), flags.queueUrl);
    return { kind: 'default-credential', queueUrl, poisonQueueUrl: poisonQueueUrlOf(queueUrl) };
  }
  const queueName = flags.queueName ?? stack?.events.queueName;
  if (queueName && connectionString) {
    const poisonQueueName = flags.queueName || !stack ? poisonQueueOf(queueName) : stack.events.poisonQueueName;
    return { kind: 'connection-string', connectionString, queueName, poisonQueueName };
  }
  throw new ConfigurationError(
    'Name the backup queue: --queue-url https://<account>.queue.core.windows.net/<queue> (signs in with DefaultAzureCredential; ' +
      'needs Storage Queue Data Message Sender on it, and Storage Queue Data Message Processor on <queue>-poison), or --queue-name ' +
      '<queue> with a connection string, or --local.',
  );
}

function deadLetterSource(
  flags: ReplayFlags,
  connectionString: string | undefined,
  stack: Stack | undefined,
): DeadLetterSource | undefined {
  const containerUrl = flags.deadLetterContainerUrl ?? stack?.events.deadLetterContainerUrl;
  const subscriptionName = flags.subscriptionName ?? stack?.events.subscriptionName;
  if (!containerUrl && !subscriptionName) return undefined;
  if (!containerUrl || !subscriptionName) {
    throw new ConfigurationError(
      '--dead-letter-container-url and --subscription-name go together: the dead letters of a subscription lie under its name in that container.',
    );
  }
  return {
    containerUrl: parse(urlSchema('--dead-letter-container-url'), containerUrl),
    subscriptionName,
    // Locally the dead-letter container is in the host storage, another account on Azure.
    connectionString: flags.connectionString ?? stack?.azure.hostStorageConnectionString ?? connectionString,
  };
}

/** Flags, environment and (with --local) the local stack, checked and combined; flags win over the stack. */
export async function resolveReplayConfig(flags: ReplayFlags, env: Record<string, string | undefined>): Promise<ReplayConfig> {
  if (flags.stack && !flags.local) throw new ConfigurationError('--stack names the local cloud stack file: add --local.');
  const stack = flags.local ? await loadLocalStack(flags.stack) : undefined;
  const from = parse(fromSchema, flags.from ?? 'all');
  const connectionString = flags.connectionString ?? stack?.azure.connectionString ?? env.AZURE_STORAGE_CONNECTION_STRING;
  const deadLetters = from === 'poison' ? undefined : deadLetterSource(flags, connectionString, stack);
  if (from === 'dead-letters' && !deadLetters) {
    throw new ConfigurationError(
      "Name Event Grid's dead-letter container: --dead-letter-container-url https://<account>.blob.core.windows.net/<container> " +
        '--subscription-name <event subscription> (DEAD_LETTER_CONTAINER_URL and EVENT_SUBSCRIPTION_NAME of the Function).',
    );
  }
  return {
    queues: replayQueues(flags, connectionString, stack),
    poison: from !== 'dead-letters',
    deadLetters,
    deadLettersUnnamed: from === 'all' && !deadLetters,
    dryRun: flags.dryRun ?? false,
    format: flags.json ? 'json' : 'human',
    progress: flags.progress === true ? 'always' : flags.progress === false ? 'never' : 'auto',
  };
}
