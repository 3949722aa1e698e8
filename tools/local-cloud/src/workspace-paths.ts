import { fileURLToPath } from 'node:url';

// This package lives at tools/local-cloud and runs from src/ (tests) or dist/ (bin), both two levels
// below the workspace root, so workspace files are found relative to the module itself, whatever the cwd.
const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The shipped CloudFormation template whose OIDC provider and trust policy the local STS enforces. */
export const AWS_IAM_TEMPLATE_PATH = `${WORKSPACE_ROOT}infra/aws-iam/template.yaml`;

/** One moto venv for the whole workspace (gitignored), shared by every project's tests. */
export const DEFAULT_MOTO_VENV_DIR = `${WORKSPACE_ROOT}.local-cloud/moto-venv`;
