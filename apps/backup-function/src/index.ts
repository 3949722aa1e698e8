// The Functions entry point: app settings are read once, at start-up, and wired into the app.
import { registerBackupApp } from './app.js';
import { loadConfig } from './config.js';

registerBackupApp(loadConfig(process.env));
