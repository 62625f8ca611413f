// The Hono environment shared by every route: bindings plus what middleware puts on the context.
import type { Settings } from "../config/settings";
import type { AuditNote } from "./middleware/admin-audit";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    settings: Settings;
    /** This request's id for log lines: Cloudflare's cf-ray, or one made up (locally). */
    requestId: string;
    /** The authenticated caller, set by requireAuth. */
    userId: string;
    /** The caller's login session (the token's `sid`), set by requireAuth. */
    sessionId: string;
    /** What an admin call acts on, for its audit row (middleware/admin-audit.ts). */
    audit: AuditNote;
  };
}
