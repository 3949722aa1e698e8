import type { ContainerClient } from '@azure/storage-blob';

export interface ListedNamesOptions {
  container: ContainerClient;
  prefix: string;
  /** How old the listing may be before `has` lists again. */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * The names under a prefix of the state container, as one instance last listed them plus what it wrote or
 * removed since. A success asks whether a record exists to remove it; listing at most once per `maxAgeMs`
 * (only while successes keep asking) spares a request per successful message. A record another instance
 * wrote is seen within `maxAgeMs`.
 */
export class ListedNames {
  private names = new Set<string>();
  private listedAt = Number.NEGATIVE_INFINITY;
  private listing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ListedNamesOptions) {
    this.now = o.now ?? Date.now;
  }

  async has(name: string): Promise<boolean> {
    if (this.now() - this.listedAt >= this.o.maxAgeMs) await this.refresh();
    return this.names.has(name);
  }

  add(name: string): void {
    this.names.add(name);
  }

  delete(name: string): void {
    this.names.delete(name);
  }

  private refresh(): Promise<void> {
    this.listing ??= (async () => {
      try {
        const names = new Set<string>();
        for await (const blob of this.o.container.listBlobsFlat({ prefix: this.o.prefix })) names.add(blob.name);
        this.names = names;
        this.listedAt = this.now();
      } finally {
        this.listing = undefined;
      }
    })();
    return this.listing;
  }
}

/** Every name under a prefix, listed now (health, the sweep's report). */
export async function listNames(container: ContainerClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  return names;
}
