// The host process: `node --import tsx main.ts --app <entry> --host-json <path> [--port N] [--lease-seconds N]`.
// App settings come from its environment, as on Azure. Every log line is one JSON object on stdout; the
// first line with `"msg":"functions host ready"` carries the port.
import { parseArgs } from 'node:util';
import { createLogLines } from './log-lines.js';
import { runFunctions } from './runtime.js';

const { log, flush: flushLog } = createLogLines();

const { values } = parseArgs({
  options: {
    app: { type: 'string' },
    'host-json': { type: 'string' },
    port: { type: 'string', default: '0' },
    'lease-seconds': { type: 'string', default: '600' },
  },
});
if (!values.app || !values['host-json']) {
  process.stderr.write(
    'usage: functions-host --app <module that registers the functions> --host-json <host.json> [--port N] [--lease-seconds N]\n',
  );
  process.exit(2);
}

try {
  const runtime = await runFunctions({
    appEntry: values.app,
    hostJsonPath: values['host-json'],
    port: Number(values.port),
    leaseMs: Number(values['lease-seconds']) * 1000,
    settings: process.env,
    log,
    flushLog,
  });
  log({ source: 'host', level: 'information', msg: 'functions host ready', port: runtime.port, functions: runtime.functions });
  let draining = false;
  const drain = (signal: string) => {
    if (draining) return;
    draining = true;
    log({ source: 'host', level: 'information', msg: `${signal}: draining` });
    void runtime.drain().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));
} catch (error) {
  log({ source: 'host', level: 'error', msg: 'the functions host could not start', error: (error as Error).message });
  process.exit(1);
}
