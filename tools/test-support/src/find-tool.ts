import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** An external program a test or benchmark runs: how to find it, ask its version, and install it. */
export interface ToolSpec {
  /** The command looked up on PATH, e.g. `aws`. */
  command: string;
  /** Arguments that make it print its version and exit 0, e.g. `['--version']`. */
  versionArgs: readonly string[];
  /** The command that installs it on Debian (what `.ci/run` runs), named whenever it is missing. */
  install: string;
  /**
   * For a name several programs answer to: whether the version output is the one wanted
   * (`time` must be GNU time, not BSD time or a wrapper).
   */
  accept?: (versionOutput: string) => boolean;
  /** What `accept` wants, for the message when it refuses, e.g. 'GNU time'. */
  expected?: string;
}

export interface FoundTool {
  command: string;
  /** Absolute path of the executable, first match on PATH. */
  path: string;
  /** The first line it printed for `versionArgs`, e.g. `aws-cli/2.9.19 Python/3.11.2 ...`. */
  version: string;
}

export interface MissingTool {
  command: string;
  /** Why it cannot be used: not on PATH, does not run, or not the program wanted. */
  reason: string;
  install: string;
}

export type ToolLookup = ({ found: true } & FoundTool) | ({ found: false } & MissingTool);

/** The first executable file named `command` in the PATH directories (like `which`), or undefined. */
export function findOnPath(command: string, pathVariable: string | undefined = process.env['PATH']): string | undefined {
  const candidates = command.includes('/')
    ? [command]
    : (pathVariable ?? '')
        .split(delimiter)
        // An empty entry means the current directory; a test should not pick up a stray file there.
        .filter((directory) => directory !== '' && isAbsolute(directory))
        .map((directory) => join(directory, command));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there, or not executable: keep looking
    }
  }
  return undefined;
}

/**
 * Finds `spec.command` on PATH and runs it with `spec.versionArgs`. Found means: on PATH, the
 * version command exits 0, and `spec.accept` (if any) accepts what it printed.
 */
export function findTool(spec: ToolSpec, env: NodeJS.ProcessEnv = process.env): ToolLookup {
  const missing = (reason: string): ToolLookup => ({ found: false, command: spec.command, reason, install: spec.install });
  const path = findOnPath(spec.command, env['PATH']);
  if (!path) {
    const searched = (env['PATH'] ?? '').split(delimiter).filter((directory) => isAbsolute(directory)).length;
    return missing(`${spec.command} is not on PATH (${searched} directories searched)`);
  }

  const shown = [spec.command, ...spec.versionArgs].join(' ');
  const ran = spawnSync(path, [...spec.versionArgs], { env, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = `${ran.stdout ?? ''}\n${ran.stderr ?? ''}`;
  if (ran.error || ran.status !== 0) {
    const why = ran.error ? ran.error.message : `exited with ${ran.status ?? ran.signal}`;
    return missing(`${path} does not run: \`${shown}\` ${why}${tail(output)}`);
  }
  if (spec.accept && !spec.accept(output)) {
    return missing(`${path} is not ${spec.expected ?? `the ${spec.command} wanted`}: \`${shown}\` printed${tail(output) || ' nothing'}`);
  }
  const version = firstLine(ran.stdout) ?? firstLine(ran.stderr) ?? '(no version printed)';
  return { found: true, command: spec.command, path, version };
}

/** Like findTool, for code that cannot run without the tool: its path, or an Error naming the install command. */
export function toolPath(spec: ToolSpec, env: NodeJS.ProcessEnv = process.env): string {
  const lookup = findTool(spec, env);
  if (!lookup.found) throw new Error(missingMessage(lookup));
  return lookup.path;
}

/** One sentence for a missing tool, ending with the command that installs it. */
export function missingMessage(missing: MissingTool): string {
  return `${missing.reason}. Install it: ${missing.install}`;
}

function firstLine(text: string | null | undefined): string | undefined {
  return (text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '');
}

function tail(output: string): string {
  const text = output.trim().split('\n').slice(-3).join(' | ').slice(-300);
  return text ? `: ${text}` : '';
}
