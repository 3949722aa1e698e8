import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "@blobferry/source" condition,
// so tests run against source without building dependencies first.
const conditions = ['@blobferry/source', 'import', 'node', 'default'];

export function projectTestConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@blobferry/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
    },
  });
}
