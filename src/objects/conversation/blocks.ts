// One-to-one blocks, kept by the conversation's object so a send is refused at once, without a D1
// read: the members of the pair who block the other one (D1's blocks table is the record the HTTP
// API reads; routes/friends.ts tells the object of every change).
import { migrate } from "../sql-migrations";

const SCHEMA = [
  `CREATE TABLE blocks (user_id TEXT PRIMARY KEY)`,
  // Blocks were kept in the members migration's group_state table, as "blocks:<user id>" keys: they
  // are copied here, so objects deployed before keep them. This runs after that migration (see
  // BlockStore). The old keys stay, unread, so that the previous deploy still finds its blocks
  // if it is rolled back to.
  `INSERT OR IGNORE INTO blocks (user_id)
     SELECT substr(key, 8) FROM group_state WHERE substr(key, 1, 7) = 'blocks:'`,
];

export class BlockStore {
  private readonly sql: SqlStorage;
  /** The blockers, read once; `set` is the only writer. */
  private cache: Set<string> | null = null;

  /** Construct it after the MemberStore: its migration reads the table the members migration made. */
  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
    migrate(this.sql, "blocks", SCHEMA);
  }

  private blockers(): Set<string> {
    this.cache ??= new Set(
      this.sql
        .exec<{ user_id: string }>("SELECT user_id FROM blocks")
        .toArray()
        .map((r) => r.user_id),
    );
    return this.cache;
  }

  /** Whether `userId` blocks the other member of the pair. */
  isBlocking(userId: string): boolean {
    return this.blockers().has(userId);
  }

  set(userId: string, blocking: boolean): void {
    if (blocking) {
      this.sql.exec("INSERT OR IGNORE INTO blocks (user_id) VALUES (?)", userId);
      this.blockers().add(userId);
    } else {
      this.sql.exec("DELETE FROM blocks WHERE user_id = ?", userId);
      this.blockers().delete(userId);
    }
  }
}
