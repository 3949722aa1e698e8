/** Narrows away undefined/null, failing the test with a message instead of a TypeError later. */
export function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}`);
  return value;
}
