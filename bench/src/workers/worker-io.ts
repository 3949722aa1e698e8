// Workers are child processes the bench measures. They take one JSON argument and end by printing one
// `RESULT <json>` line, which carries their own view of time and memory next to GNU time's.

export function workerArgs<T>(): T {
  const text = process.argv[2];
  if (!text) throw new Error('worker expects its options as one JSON argument');
  return JSON.parse(text) as T;
}

export function printResult(result: Record<string, unknown>): void {
  const usage = process.resourceUsage();
  process.stdout.write(`RESULT ${JSON.stringify({ ...result, maxRssKiB: usage.maxRSS })}\n`);
}

export function parseResult<T>(stdout: string): T {
  const match = /^RESULT (.*)$/m.exec(stdout);
  if (!match?.[1]) throw new Error(`worker printed no RESULT line; stdout tail: ${stdout.slice(-500)}`);
  return JSON.parse(match[1]) as T;
}
