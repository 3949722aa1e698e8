import { backupFunctionSettings, type Stack } from '@blobferry/local-cloud';
import type { SettingName } from '@blobferry/contract';

/** The app settings for a local stack (local-cloud's backupFunctionSettings), with the caller's overrides. */
export function appSettingsForStack(stack: Stack, overrides: Partial<Record<SettingName, string>> = {}): Record<string, string> {
  return { ...backupFunctionSettings(stack), ...overrides };
}
