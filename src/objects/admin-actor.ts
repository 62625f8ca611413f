// The actor of what the admin API does inside a conversation: a revoke's `revoked_by`, a group
// notice's operatorID and sender. No user can be it: user ids are ULIDs (26 upper-case
// characters, src/worker/routes/auth.ts), and every user id a command carries comes from a
// verified token or is checked against D1.
export const ADMIN_ACTOR = "admin";
