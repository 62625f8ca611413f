// Versioned schemas in a Durable Object's SQLite. Each module names its own list of steps; they run
// once, in order, synchronously (SQL in a Durable Object is synchronous, so a constructor can
// migrate before any event).

/**
 * The stored versions, read once for the modules an object's constructor migrates one after another
 * in the same turn, and forgotten after it (a test may rewind a version between turns). An object
 * woken from hibernation builds every store: a member of a big group is woken by its messages, so
 * one read instead of two statements per module, each time.
 */
const versionsThisTurn = new WeakMap<SqlStorage, Map<string, number>>();

function storedVersions(sql: SqlStorage): Map<string, number> {
  let versions = versionsThisTurn.get(sql);
  if (!versions) {
    sql.exec("CREATE TABLE IF NOT EXISTS _schema (name TEXT PRIMARY KEY, version INTEGER NOT NULL)");
    versions = new Map(
      sql
        .exec<{ name: string; version: number }>("SELECT name, version FROM _schema")
        .toArray()
        .map((r) => [r.name, r.version]),
    );
    versionsThisTurn.set(sql, versions);
    queueMicrotask(() => versionsThisTurn.delete(sql));
  }
  return versions;
}

export function migrate(sql: SqlStorage, name: string, steps: readonly string[]): void {
  const versions = storedVersions(sql);
  const current = versions.get(name) ?? 0;
  if (current >= steps.length) return;
  for (let i = current; i < steps.length; i++) sql.exec(steps[i] as string);
  sql.exec(
    "INSERT INTO _schema (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version",
    name,
    steps.length,
  );
  versions.set(name, steps.length);
}
