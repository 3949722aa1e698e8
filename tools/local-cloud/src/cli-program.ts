import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { controlRequest } from './control/control-client.js';
import { startLocalCloud, type LocalCloud, type LocalCloudOptions } from './local-cloud.js';
import { writeInventoryReports } from './inventory/write-inventory-reports.js';
import type { OutageState } from './outage.js';
import { ensureMotoVenv } from './s3/moto.js';
import { UNAVAILABLE } from './service-errors.js';
import type { Stack } from './types.js';
import { DEFAULT_MOTO_VENV_DIR } from './workspace-paths.js';

// `local-cloud up`: runs the stack in the foreground until SIGINT/SIGTERM, then stops every child.
// `local-cloud prepare`: the first-run install `up` would otherwise do (moto into its venv), so that CI
// provisions it once, before any test starts a stack under a deadline.
// `local-cloud outage` / `outages`: take a running stack's S3, blob endpoint or STS down for a while, through
// the control endpoint its stack.json names.
// Kept apart from the bin entry so tests can drive it with their own signal source and output.

export interface CliIo {
  stdout: (line: string) => void;
  /** Where SIGINT/SIGTERM come from (the process, or a test's emitter). */
  signals: { once(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown };
  env: NodeJS.ProcessEnv;
  log?: LocalCloudOptions['log'];
  /** Called once the stack is up (tests use it to look at the running stack). */
  onReady?: (cloud: LocalCloud) => void;
}

interface PrepareOptions {
  motoVenv: string;
}

async function prepare(options: PrepareOptions, io: CliIo): Promise<void> {
  const venvDir = resolve(options.motoVenv);
  const server = await ensureMotoVenv({ venvDir, log: (entry) => io.stdout(String(entry.msg)) });
  io.stdout(`moto is installed: ${server}`);
}

interface InventoryOptions {
  stackFile: string;
  format: 'parquet' | 'csv';
}

async function inventory(options: InventoryOptions, io: CliIo): Promise<void> {
  const stack = JSON.parse(await readFile(resolve(options.stackFile), 'utf8')) as Stack;
  const written = await writeInventoryReports({ stack, format: options.format });
  io.stdout(`Azure Blob Inventory report: container ${written.azure.container}, ${written.azure.manifest}`);
  io.stdout(`S3 Inventory report:         s3://${written.s3.bucket}/${written.s3.manifest}`);
}

interface UpOptions {
  ports: 'free' | 'default';
  persist?: string;
  s3: 's3rver' | 'moto';
  s3Endpoint?: string;
  stackFile: string;
  events: boolean;
  webhook?: string;
  trust: 'user-assigned' | 'system-assigned';
  faultProxy: boolean;
}

interface OutageCommandOptions {
  refuse?: boolean;
  unavailable?: boolean;
  for?: number;
  end?: boolean;
  stackFile: string;
}

/** `90s`, `4m`, `2h`, `500ms` -> milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 90s, 4m or 2h');
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(match[1]) * factor);
}

const SERVICES = ['s3', 'azure', 'sts'] as const;
type Service = (typeof SERVICES)[number];

function describeOutage(state: OutageState): string {
  const until = new Date(state.endsAt).toLocaleTimeString('en-GB', { hour12: false });
  const what = state.mode === 'refuse' ? 'refuses connections' : `answers 503 ${UNAVAILABLE[state.service].code}`;
  return `${state.service} ${what} until ${until}, then comes back on the same port`;
}

async function outage(service: Service, options: OutageCommandOptions, io: CliIo): Promise<void> {
  const stackFile = resolve(options.stackFile);
  if (options.end) {
    await controlRequest(stackFile, { method: 'DELETE', path: `/outages/${service}` });
    io.stdout(`${service} is back`);
    return;
  }
  if (options.refuse === options.unavailable)
    throw new Error('say how the service fails: --refuse (nothing listens) or --unavailable (503)');
  if (options.for === undefined) throw new Error('say for how long: --for 4m');
  const state = (await controlRequest(stackFile, {
    method: 'POST',
    path: '/outages',
    body: { service, mode: options.refuse ? 'refuse' : 'unavailable', durationMs: options.for },
  })) as OutageState;
  io.stdout(describeOutage(state));
}

async function outages(options: { stackFile: string }, io: CliIo): Promise<void> {
  const running = (await controlRequest(resolve(options.stackFile), { method: 'GET', path: '/outages' })) as OutageState[];
  if (running.length === 0) io.stdout('no outage');
  for (const state of running) io.stdout(describeOutage(state));
}

function parseUrl(value: string): string {
  try {
    return new URL(value).toString().replace(/\/+$/, '');
  } catch {
    throw new InvalidArgumentError('expected an absolute URL such as http://127.0.0.1:9000');
  }
}

export function describeStack(stack: Stack): string[] {
  return [
    'local cloud is up',
    `  Azure Blob (Azurite)     ${stack.azure.blobEndpoint}  container: ${stack.azure.sourceContainer}`,
    `  Azure Queue (Azurite)    ${stack.azure.queueEndpoint}  events: ${stack.events.delivery === 'off' ? 'off' : `${stack.events.delivery} (${stack.events.queueName}; inventory: ${stack.events.inventory.queueName})`}`,
    `  Azurite connection       ${stack.azure.connectionString}`,
    `  S3                       ${stack.aws.s3Endpoint}  bucket: ${stack.aws.bucket}  region: ${stack.aws.region}`,
    `  STS                      ${stack.aws.stsEndpoint}  role: ${stack.aws.roleArn}`,
    `  OIDC issuer              ${stack.identity.issuer}  audience: ${stack.identity.audience}`,
    `  IDENTITY_ENDPOINT        ${stack.identity.identityEndpoint}  (IDENTITY_HEADER is in stack.json)`,
    `  IMDS host                ${stack.identity.imdsHost}`,
    `  backup identity          client id ${stack.identity.backupIdentity.clientId}`,
    `  dead letters             ${stack.events.deadLetterContainerUrl}/${stack.events.subscriptionName.toUpperCase()}/ and ${stack.events.inventory.subscriptionName.toUpperCase()}/`,
    stack.control
      ? `  outages                  local-cloud outage s3|azure|sts --refuse|--unavailable --for 4m  (fault proxy in front)`
      : '  outages                  none: started with --no-fault-proxy',
  ];
}

async function up(options: UpOptions, io: CliIo): Promise<void> {
  let s3: LocalCloudOptions['s3'] = options.s3;
  if (options.s3Endpoint) {
    const accessKeyId = io.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = io.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        '--s3-endpoint needs the endpoint key pair in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (never on the command line).',
      );
    }
    s3 = { endpoint: options.s3Endpoint, accessKeyId, secretAccessKey, region: io.env.AWS_REGION };
  }
  const stackFile = resolve(options.stackFile);
  const cloud = await startLocalCloud({
    s3,
    ports: options.ports,
    persistDir: options.persist && resolve(options.persist),
    stackFile,
    trust: options.trust,
    faultProxy: options.faultProxy,
    events: options.webhook ? { target: { webhookUrl: options.webhook } } : options.events ? { target: 'queue' } : false,
    log: io.log,
  });
  for (const line of describeStack(cloud.stack)) io.stdout(line);
  io.stdout(`  stack file               ${stackFile}`);
  io.stdout('Press Ctrl+C to stop.');
  io.onReady?.(cloud);
  const signal = await new Promise<string>((resolveSignal) => {
    io.signals.once('SIGINT', () => resolveSignal('SIGINT'));
    io.signals.once('SIGTERM', () => resolveSignal('SIGTERM'));
  });
  io.stdout(`${signal}: stopping...`);
  await cloud.stop();
  io.stdout('local cloud stopped');
}

export async function runCli(argv: string[], io: CliIo): Promise<void> {
  const program = new Command('local-cloud')
    .description('Azure Blob (Azurite), S3, an Entra-like identity plane, STS and Event Grid delivery on loopback')
    .exitOverride();
  program
    .command('up')
    .description('start everything in the foreground and write the stack file once every part answers')
    .addOption(new Option('--ports <mode>', 'free ports, or the well-known default ports').choices(['free', 'default']).default('free'))
    .option('--persist <dir>', 'keep Azurite and s3rver data (and dead letters) in this folder')
    .addOption(
      new Option('--s3 <kind>', 'S3 implementation (s3rver cannot store every valid key)').choices(['moto', 's3rver']).default('moto'),
    )
    .option('--s3-endpoint <url>', 'use this S3 endpoint instead (key pair from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)', parseUrl)
    .option('--stack-file <path>', 'where to write stack.json', '.local-cloud/stack.json')
    .option('--no-events', 'raise no BlobCreated/BlobDeleted events (an estate that predates the subscription)')
    .option('--webhook <url>', 'deliver events to this Event Grid webhook instead of the queue (30 s answer deadline)', parseUrl)
    .addOption(
      new Option('--trust <identity>', "whose principal id the role's trust policy admits")
        .choices(['user-assigned', 'system-assigned'])
        .default('user-assigned'),
    )
    .option('--no-fault-proxy', 'no fault proxy in front of the blob endpoint, S3 and STS (then `outage` has nothing to act on)')
    .action((options: UpOptions) => up(options, io));
  program
    .command('outage')
    .description("take a running stack's S3, blob endpoint or STS down for a while, then back on the same port")
    .addArgument(new Argument('<service>', 'the endpoint to take down').choices(SERVICES))
    .option('--refuse', 'nothing listens on its port: clients get ECONNREFUSED, as from a dead endpoint')
    .option('--unavailable', "it answers every request 503 in the service's own format")
    .option('--for <duration>', 'how long, e.g. 90s, 4m, 2h', parseDuration)
    .option('--end', 'end its outage now')
    .option('--stack-file <path>', "the running stack's stack.json", '.local-cloud/stack.json')
    .action((service: Service, options: OutageCommandOptions) => outage(service, options, io));
  program
    .command('outages')
    .description("list a running stack's outages")
    .option('--stack-file <path>', "the running stack's stack.json", '.local-cloud/stack.json')
    .action((options: { stackFile: string }) => outages(options, io));
  program
    .command('inventory')
    .description("write an Azure Blob Inventory and an S3 Inventory report of what the running stack's clouds hold now")
    .option('--stack-file <path>', 'the running stack', '.local-cloud/stack.json')
    .addOption(new Option('--format <format>', 'report format').choices(['parquet', 'csv']).default('parquet'))
    .action((options: InventoryOptions) => inventory(options, io));
  program
    .command('prepare')
    .description('install what `up` installs on its first start (moto into its venv), then exit')
    .option('--moto-venv <dir>', 'where the moto venv lives', DEFAULT_MOTO_VENV_DIR)
    .action((options: PrepareOptions) => prepare(options, io));
  await program.parseAsync(argv);
}
