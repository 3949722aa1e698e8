import { describe, it, type TestFunction } from 'vitest';
import { findTool, missingMessage, type FoundTool, type ToolSpec } from './find-tool.js';

/** CI as CI services and `.ci/run` set it: `CI` present and not `0`/`false`/`no`. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env['CI'];
  return value !== undefined && value !== '' && !/^(0|false|no)$/i.test(value);
}

/** A tool a suite needs, and `describe`/`it` that behave as the workspace wants when it is missing. */
export interface RequiredTool {
  /** The tool as found on PATH, or undefined when it is missing. */
  readonly found: FoundTool | undefined;
  /** Its absolute path. Throws (naming the install command) when missing: use it inside `describe`/`it` from here. */
  readonly path: string;
  /** The first line of its version output. */
  readonly version: string;
  /**
   * `describe`, titled with the version found. Without the tool: in CI one failing test that names
   * the install command; elsewhere a visible warning on stderr and the suite skipped.
   */
  describe(title: string, body: () => void): void;
  /** `it`, with the same rules as `describe`, for one test of a suite that mostly needs no tool. */
  it(title: string, fn: TestFunction, timeout?: number): void;
}

/**
 * Looks `spec.command` up on PATH now (at collection) and prints what it found, e.g.
 * `[test-support] aws: aws-cli/2.9.19 Python/3.11.2 ... (/usr/bin/aws)`.
 * A missing tool never makes a suite vanish silently: it fails in CI and warns elsewhere.
 */
export function requireTool(spec: ToolSpec, env: NodeJS.ProcessEnv = process.env): RequiredTool {
  const lookup = findTool(spec, env);
  if (lookup.found) {
    const found: FoundTool = { command: lookup.command, path: lookup.path, version: lookup.version };
    console.info(`[test-support] ${found.command}: ${found.version} (${found.path})`);
    const label = `[${shorten(found.version)}]`;
    return {
      found,
      path: found.path,
      version: found.version,
      describe: (title, body) => describe(`${title} ${label}`, body),
      it: (title, fn, timeout) => it(`${title} ${label}`, fn, timeout),
    };
  }

  const message = missingMessage(lookup);
  const fail = () => {
    const error = new Error(message);
    error.stack = `Error: ${message}`; // where it was thrown says nothing; the message says what to do
    throw error;
  };
  const ci = inCi(env);
  const warn = (title: string) =>
    console.warn(`[test-support] WARNING: skipping "${title}": ${message}  (with CI set, this fails instead)`);
  return {
    found: undefined,
    get path(): string {
      throw new Error(message);
    },
    version: '',
    describe: (title, body) => {
      if (ci) {
        describe(title, () => it(`needs ${spec.command}`, fail));
        return;
      }
      warn(title);
      describe.skip(`${title} [skipped: no ${spec.command}]`, body);
    },
    it: (title, fn, timeout) => {
      if (ci) {
        it(`${title} (needs ${spec.command})`, fail);
        return;
      }
      warn(title);
      it.skip(`${title} [skipped: no ${spec.command}]`, fn, timeout);
    },
  };
}

function shorten(version: string): string {
  return version.length <= 48 ? version : `${version.slice(0, 47)}…`;
}
