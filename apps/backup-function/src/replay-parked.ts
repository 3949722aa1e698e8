import { type DeadLetterReplay, type PoisonQueueReplay, replayDeadLetters, replayPoisonQueue } from '@blobferry/reconcile';
import type { BackupClients } from './clients.js';

export interface ReplayParkedOptions {
  abortSignal?: AbortSignal;
}

export interface ParkedReplay {
  poison: PoisonQueueReplay;
  /** Undefined when DEAD_LETTER_CONTAINER_URL and EVENT_SUBSCRIPTION_NAME are not set. */
  deadLetters: DeadLetterReplay | undefined;
}

/**
 * What the sweep replays on every run, as `blobferry replay` does on demand (libs/reconcile): the poison
 * queue's messages and Event Grid's dead-lettered events, put back into the backup queue with the
 * Function's own clients. Needs Message Processor on the poison queue, Message Sender on the backup queue,
 * and read and delete on the dead-letter container.
 */
export async function replayParked(clients: BackupClients, o: ReplayParkedOptions = {}): Promise<ParkedReplay> {
  const abortSignal = o.abortSignal ? { abortSignal: o.abortSignal } : {};
  const poison = await replayPoisonQueue({ poisonQueue: clients.poisonQueue, backupQueue: clients.backupQueue, ...abortSignal });
  const deadLetters = clients.deadLetters
    ? await replayDeadLetters({
        container: clients.deadLetters.container,
        subscriptionName: clients.deadLetters.subscriptionName,
        backupQueue: clients.backupQueue,
        ...abortSignal,
      })
    : undefined;
  return { poison, deadLetters };
}
