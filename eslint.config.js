import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

// Who may import whom. Production code: apps -> libs, libs -> libs, tools -> libs.
// Nothing but tests, benchmarks and the local dev host may import tools (tools/local-cloud).
// infra's drift tests may import the one lib that holds the cross-project contract (libs/contract).
const productionConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:tool'] },
  { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['scope:contract'] },
];
const testConstraints = productionConstraints.map((constraint) => ({
  ...constraint,
  onlyDependOnLibsWithTags: [...new Set([...constraint.onlyDependOnLibsWithTags, 'type:tool'])],
}));

const boundaries = (depConstraints) => ({
  '@nx/enforce-module-boundaries': [
    'error',
    { enforceBuildableLibDependency: false, allow: [], depConstraints, checkDynamicDependenciesExceptions: [] },
  ],
});

const testFiles = ['**/*.test.ts', '**/test/**/*.ts', '**/dev/**/*.ts', '**/bench/**/*.ts'];

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '.tools/**', '.local-cloud/**', '**/.nx/**', 'coverage/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      ...boundaries(productionConstraints),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: testFiles, rules: boundaries(testConstraints) },
  // Every project's vitest.config.ts shares the workspace's test preset by relative path.
  { files: ['**/vitest.config.ts'], rules: { '@nx/enforce-module-boundaries': 'off' } },
  // Layout is Prettier's (npm run lint:format); no ESLint rule argues with it.
  prettier,
];
