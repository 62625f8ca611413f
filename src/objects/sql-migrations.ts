// Versioned schemas in a Durable Object's SQLite. Each module names its own list of steps; they run
// once, in order, synchronously (SQL in a Durable Object is synchronous, so a constructor can
// migrate before any event).
export function migrate(sql: SqlStorage, name: string, steps: readonly string[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS _schema (name TEXT PRIMARY KEY, version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM _schema WHERE name = ?", name).toArray()[0];
  const current = row?.version ?? 0;
  if (current >= steps.length) return;
  for (let i = current; i < steps.length; i++) sql.exec(steps[i] as string);
  sql.exec(
    "INSERT INTO _schema (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version",
    name,
    steps.length,
  );
}
