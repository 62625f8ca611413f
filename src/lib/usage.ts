// The usage counts' shape (src/lib/usage-meter.ts counts them; GET /debug/usage serves them), with
// no runtime types, so the benchmark and its baseline relay share it.

export interface Usage {
  /** `"user.frame": 1234`: invocations by object and kind. */
  invocations: Record<string, number>;
  /** D1 round trips: a batch() is one, however many statements it carries. */
  d1Calls: number;
  d1Statements: number;
  d1RowsWritten: number;
  /** Statements the objects ran on their SQLite that wrote at least one row, and the rows. */
  storageWriteStatements: number;
  storageRowsWritten: number;
  /** Rows written by statement (its first words), to see which write costs what. */
  storageRowsByStatement: Record<string, number>;
  /** setAlarm and deleteAlarm calls (each a storage write). */
  alarmWrites: number;
}

/** Counts of nothing yet: `invocations` as given. */
export function emptyUsage(invocations: Record<string, number> = {}): Usage {
  return {
    invocations,
    d1Calls: 0,
    d1Statements: 0,
    d1RowsWritten: 0,
    storageWriteStatements: 0,
    storageRowsWritten: 0,
    storageRowsByStatement: {},
    alarmWrites: 0,
  };
}
