import type { DuckDBConnection } from '@duckdb/node-api';

/** DuckDB's memory by default: the join holds near it on a Flex instance of 2 GiB, beside the Node heap and the SDKs. */
export const DEFAULT_MEMORY_LIMIT_MIB = 384;

export interface OpenDuckDbOptions {
  /** Where DuckDB spills what does not fit in `memoryLimitMiB`. */
  spillDirectory: string;
  memoryLimitMiB?: number;
  /** Worker threads (default: DuckDB's, one per core). */
  threads?: number;
}

export interface DuckDbSession {
  connection: DuckDBConnection;
  /** Another connection to the same database (streams read side by side each need their own). */
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

/**
 * An in-memory DuckDB that spills to `spillDirectory` beyond its memory limit, reads only local files, and never
 * installs or loads an extension at run time (a Function cannot download one; Parquet, CSV and ICU are built in).
 */
export async function openDuckDb(options: OpenDuckDbOptions): Promise<DuckDbSession> {
  // Loaded on first use: the native binding is large, and a verify that lists never needs it.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: `${options.memoryLimitMiB ?? DEFAULT_MEMORY_LIMIT_MIB}MB`,
    temp_directory: options.spillDirectory,
    ...(options.threads ? { threads: String(options.threads) } : {}),
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // Rows need no order until the final ORDER BY; keeping it would hold more in memory.
    preserve_insertion_order: 'false',
  });
  const connections: DuckDBConnection[] = [];
  const connect = async () => {
    const connection = await instance.connect();
    connections.push(connection);
    // Report times are UTC; a time without an offset must not be read in the machine's zone.
    await connection.run("SET TimeZone = 'UTC'");
    return connection;
  };
  const connection = await connect();
  return {
    connection,
    connect,
    close() {
      for (const open of connections) open.closeSync();
      instance.closeSync();
    },
  };
}

/** A string as a SQL literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A column name as a SQL identifier (Azure's fields have dashes). */
export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
