import { mergeConfig } from 'vitest/config';
import { projectTestConfig } from '../../vitest.shared.ts';

// Bicep is parsed once per run, before the test files load (test/parse-bicep.setup.ts).
export default mergeConfig(projectTestConfig(), { test: { globalSetup: ['test/parse-bicep.setup.ts'] } });
