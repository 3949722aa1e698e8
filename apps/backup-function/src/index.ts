// The Functions entry point: app settings are read once, at start-up, and wired into the app.
import { registerBackupApp } from './app.js';
import { parseBackupSettings, queueConnectionOf } from '@blobferry/contract';

registerBackupApp(parseBackupSettings(process.env), { queue: queueConnectionOf(process.env) });
