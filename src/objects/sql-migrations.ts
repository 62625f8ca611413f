// Versioned schema for a Durable Object's SQLite storage. Steps run once, in order, synchronously
// (SQL in a Durable Object is synchronous, so the constructor can migrate before any event).
export function migrate(sql: SqlStorage, steps: readonly string[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS _schema (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM _schema").toArray()[0];
  const current = row?.version ?? 0;
  if (current >= steps.length) return;
  for (let i = current; i < steps.length; i++) sql.exec(steps[i] as string);
  if (row) sql.exec("UPDATE _schema SET version = ?", steps.length);
  else sql.exec("INSERT INTO _schema (version) VALUES (?)", steps.length);
}
