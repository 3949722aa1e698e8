import type { CloudService } from './service-errors.js';
import type { SwitchableServer } from './switchable-server.js';

// An outage of one service's public endpoint, for a given time: `refuse` takes the endpoint off the network
// (nothing listens on its port: ECONNREFUSED, as a dead endpoint gives), `unavailable` keeps it up answering
// 503 in the service's own error format. When the time is up, it comes back on the same port.

export type OutageMode = 'refuse' | 'unavailable';

export interface OutageOptions {
  mode: OutageMode;
  durationMs: number;
}

export interface OutageState {
  service: CloudService;
  mode: OutageMode;
  /** ISO times. */
  startedAt: string;
  endsAt: string;
}

export class Outage {
  private state: OutageState | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: { service: CloudService; server: SwitchableServer; log: (entry: Record<string, unknown>) => void }) {}

  current(): OutageState | undefined {
    return this.state && { ...this.state };
  }

  /** True while the endpoint should answer 503. */
  unavailable(): boolean {
    return this.state?.mode === 'unavailable';
  }

  /** Starts an outage (ending any running one first); resolves once it is in force. */
  async start(options: OutageOptions): Promise<OutageState> {
    if (!Number.isFinite(options.durationMs) || options.durationMs <= 0)
      throw new Error(`an outage lasts a positive time (got ${options.durationMs} ms)`);
    await this.end();
    const now = Date.now();
    this.state = {
      service: this.o.service,
      mode: options.mode,
      startedAt: new Date(now).toISOString(),
      endsAt: new Date(now + options.durationMs).toISOString(),
    };
    if (options.mode === 'refuse') this.o.server.stopListening();
    this.timer = setTimeout(() => void this.end(), options.durationMs);
    this.o.log({ msg: 'outage started', ...this.state, durationMs: options.durationMs });
    return { ...this.state };
  }

  /** Ends the outage now, if one runs; resolves once the endpoint answers again. */
  async end(): Promise<void> {
    clearTimeout(this.timer);
    const ended = this.state;
    if (!ended) return;
    this.state = undefined;
    if (ended.mode === 'refuse') await this.o.server.resumeListening();
    this.o.log({ msg: 'outage ended', service: ended.service, mode: ended.mode });
  }

  /** Ends it without coming back: the cloud is stopping. */
  dispose(): void {
    clearTimeout(this.timer);
    this.state = undefined;
  }
}
