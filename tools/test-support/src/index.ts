export * from './tools.js';
export { inCi, requireTool, type RequiredTool } from './require-tool.js';
