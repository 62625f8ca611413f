-- Drops message search from a D1 database: its index (a virtual table, which `wrangler d1 export`
-- refuses), the triggers on `messages` that feed it, and the tables derived with it. Nothing here
-- is the only copy of anything: schema/migrations/0005_message_search.sql, run again as a file,
-- rebuilds all of it from `messages` and `conversations`, and 0007_message_search_by_conversation.sql
-- then puts back its index by conversation (README, "Back up the database").
DROP TRIGGER IF EXISTS `messages_search_insert`;
DROP TRIGGER IF EXISTS `messages_search_update`;
DROP TRIGGER IF EXISTS `messages_search_delete`;
DROP TRIGGER IF EXISTS `messages_readers_single`;
DROP TRIGGER IF EXISTS `messages_readers_join`;
DROP TRIGGER IF EXISTS `messages_readers_leave`;
DROP TABLE IF EXISTS `message_search`;
DROP TABLE IF EXISTS `message_search_docs`;
DROP TABLE IF EXISTS `history_readers`;
