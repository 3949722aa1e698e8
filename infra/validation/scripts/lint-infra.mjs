// `npm run lint:infra`: cfn-lint on infra/aws-iam/template.yaml, checkov on it and on infra/bicep.
// The linters live in .tools/infra-venv, pinned and installed by `bash .ci/infra-tools.sh` (.ci/run
// runs it before lint). This cached Nx target installs nothing itself: it fails, naming that command,
// when the linters or their pinned versions are missing. Every skipped check is justified next
// to the resource it concerns. checkov exits 0 on a file it cannot parse, so parse errors and
// empty scans are failures here.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const venvBin = join(workspaceRoot, '.tools/infra-venv/bin');
const template = 'infra/aws-iam/template.yaml';

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: workspaceRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw result.error;
  return result;
}

const stamp = join(workspaceRoot, '.tools/infra-venv/.requirements');
const requirements = join(workspaceRoot, 'infra/validation/requirements.txt');
const installed =
  ['cfn-lint', 'checkov'].every((tool) => existsSync(join(venvBin, tool))) &&
  existsSync(stamp) &&
  readFileSync(stamp, 'utf8') === readFileSync(requirements, 'utf8');
if (!installed) {
  console.error(
    'lint:infra: cfn-lint and checkov (pinned in infra/validation/requirements.txt) are not in .tools/infra-venv; install them with: bash .ci/infra-tools.sh',
  );
  process.exit(1);
}

let failed = false;

const cfnLint = run(join(venvBin, 'cfn-lint'), ['--include-checks', 'I', '--', template]);
if (cfnLint.status === 0) {
  console.log(`cfn-lint: ${template} clean`);
} else {
  failed = true;
  console.error(`cfn-lint: ${template}\n${cfnLint.stdout}${cfnLint.stderr}`);
}

const checkovScans = [
  { framework: 'cloudformation', target: ['--file', template], minResources: 4 },
  { framework: 'bicep', target: ['--directory', 'infra/bicep'], minResources: 20 },
];
for (const { framework, target, minResources } of checkovScans) {
  const scan = run(join(venvBin, 'checkov'), [...target, '--framework', framework, '--skip-download', '--output', 'json'], {
    env: { ...process.env, LOG_LEVEL: 'ERROR' },
  });
  let report;
  try {
    const parsed = JSON.parse(scan.stdout);
    report = Array.isArray(parsed) ? parsed[0] : parsed;
  } catch {
    failed = true;
    console.error(`checkov (${framework}) printed no report:\n${scan.stdout}${scan.stderr}`);
    continue;
  }
  const { summary, results } = report;
  const where = target[1];
  console.log(
    `checkov ${framework} ${where}: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped (justified inline), ` +
      `${summary.resource_count} resources, ${summary.parsing_errors} parsing errors`,
  );
  for (const check of results.failed_checks ?? []) {
    failed = true;
    console.error(
      `  FAILED ${check.check_id} ${check.check_name}\n    ${check.resource} in ${check.file_path}:${check.file_line_range?.join('-')}`,
    );
  }
  if (summary.parsing_errors > 0) {
    failed = true;
    console.error(`  checkov could not parse: ${(results.parsing_errors ?? report.parsing_errors ?? []).join(', ')}`);
  }
  if (summary.resource_count < minResources) {
    failed = true;
    console.error(`  checkov saw ${summary.resource_count} resources, expected at least ${minResources}: files were skipped`);
  }
}

process.exit(failed ? 1 : 0);
