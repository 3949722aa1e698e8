import { readFile } from 'node:fs/promises';
import { stackSchema } from '@blobferry/contract';

// How a process of its own (`local-cloud outage`) reaches a running stack: the control endpoint and token in
// its stack.json.

export interface ControlRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
}

export async function controlRequest(stackFile: string, request: ControlRequest): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(stackFile, 'utf8');
  } catch (error) {
    throw new Error(
      `no running stack: cannot read ${stackFile} (${(error as Error).message}); start one with \`npm start\` or \`local-cloud up\``,
    );
  }
  const stack = stackSchema.parse(JSON.parse(text));
  if (!stack.control) {
    throw new Error(`the stack of ${stackFile} runs without its fault proxy, so it takes no outage: start it without --no-fault-proxy`);
  }
  const response = await fetch(new URL(request.path, stack.control.endpoint), {
    method: request.method,
    headers: { authorization: `Bearer ${stack.control.token}`, 'content-type': 'application/json' },
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
  });
  const answer = response.status === 204 ? undefined : ((await response.json()) as unknown);
  if (!response.ok) throw new Error(`the stack refused: ${String((answer as { error?: unknown } | undefined)?.error ?? response.status)}`);
  return answer;
}
