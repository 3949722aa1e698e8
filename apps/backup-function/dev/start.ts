// `npm start`: the local cloud and the Functions host, ready for uploads from any Azure tool.
import { DEFAULT_STACK_FILE, startBackupStack } from './local-stack.js';

const freePorts = process.argv.includes('--free-ports');

const stack = await startBackupStack({
  stackFile: DEFAULT_STACK_FILE,
  localCloud: { ports: freePorts ? 'free' : 'default' },
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\n${signal}: stopping the local stack...\n`);
  await stack.stop();
  process.stderr.write('stopped; no process left behind.\n');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

const { azure, aws } = stack.cloud.stack;
process.stderr.write(
  [
    '',
    'blobferry local stack is ready: every blob uploaded from now on is backed up.',
    '',
    `  Azure Blob (Azurite) connection string:`,
    `    ${azure.connectionString}`,
    `  upload into container "${azure.sourceContainer}", e.g.`,
    `    az storage blob upload --connection-string "<the string above>" -c ${azure.sourceContainer} -f ./file -n file`,
    '',
    `  S3 backups: s3://${aws.bucket}/${aws.prefix}${azure.accountName}/${azure.sourceContainer}/<blob>`,
    `    endpoint ${aws.s3Endpoint} (path style, region ${aws.region})`,
    `    e.g. aws --endpoint-url ${aws.s3Endpoint} s3 ls s3://${aws.bucket}/ --recursive  (profile: blobferry credentials --local)`,
    '',
    `  health: ${stack.host.baseUrl}/api/health`,
    `  stack file: ${DEFAULT_STACK_FILE}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
