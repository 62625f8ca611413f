-- Message search (issue 15), written by hand: drizzle has no words for virtual tables or triggers.
-- Everything here lives in the database that holds `messages` and is kept in step by triggers on
-- `messages`, so when history is sharded over several D1 databases by conversation, each shard
-- carries the index and the reader ranges of its own conversations, written in the same statement
-- as the history rows they describe: nothing else has to be written, and a search asks the shards
-- holding the caller's conversations and merges their pages by document id.
-- (docs/ARCHITECTURE.md, "Search".)

-- The full-text index of text messages (message_type 1; media, cards and notices hold JSON).
-- trigram: every 3 characters is a token, so a word is found inside a Chinese or Japanese sentence
-- as well as inside an English one; words shorter than 3 characters cannot use it
-- (src/db/message-search.ts checks those with instr()). Contentless: the text stays
-- only in `messages`, the index holds postings by document id; snippets are cut from
-- `messages.content` (src/search/snippet.ts).
CREATE VIRTUAL TABLE `message_search` USING fts5(`body`, content='', tokenize='trigram');
--> statement-breakpoint

-- Each indexed message's document id: server_time * 1024 + its place among that millisecond's
-- messages. The index walks ids newest first and stops at a page's end, so results come in
-- server_time order without sorting every match of a common word, and a date range is an id range.
-- An INTEGER PRIMARY KEY never changes, so the id is also the stable paging cursor.
-- (1024 a millisecond keeps ids below 2^53, exact in JavaScript, until the year 2248.)
CREATE TABLE `message_search_docs` (
	`doc_id` integer PRIMARY KEY NOT NULL,
	`conversation_id` text NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `message_search_docs_message` ON `message_search_docs` (`conversation_id`, `seq`);
--> statement-breakpoint

-- Who may read which seqs of which conversation: the same range the conversation's object keeps
-- (members.first_seq / left_seq). Derived from the history itself: a one-to-one's two users read it
-- all; a group's notices (message_type 8, written only by the server) say who joined or left at
-- which seq. A rejoin starts a new range at its notice, as in the object. event_seq is the notice
-- that last set the row, so a repeated or late notice never moves it back.
CREATE TABLE `history_readers` (
	`user_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`first_seq` integer NOT NULL,
	`last_seq` integer,
	`event_seq` integer NOT NULL,
	PRIMARY KEY(`user_id`, `conversation_id`)
) WITHOUT ROWID;
--> statement-breakpoint

-- Indexing. A trigger that failed would fail the history write that fired it, so none can: the
-- next free id of the millisecond (past 1024 of them, the next id of all), OR IGNORE on the id.
CREATE TRIGGER `messages_search_insert` AFTER INSERT ON `messages`
WHEN NEW.message_type = 1 AND NEW.is_revoked = 0
BEGIN
	INSERT OR IGNORE INTO message_search_docs (doc_id, conversation_id, seq)
		SELECT CASE
				WHEN max(doc_id) IS NULL THEN t.base
				WHEN max(doc_id) < t.base + 1023 THEN max(doc_id) + 1
				ELSE (SELECT coalesce(max(doc_id), 0) + 1 FROM message_search_docs)
			END, NEW.conversation_id, NEW.seq
		FROM (SELECT min(max(NEW.server_time, 0), 8796093022207) * 1024 AS base) t
			LEFT JOIN message_search_docs ON doc_id BETWEEN t.base AND t.base + 1023;
	INSERT INTO message_search (rowid, body)
		SELECT doc_id, CAST(NEW.content AS TEXT) FROM message_search_docs
		WHERE conversation_id = NEW.conversation_id AND seq = NEW.seq;
END;
--> statement-breakpoint

-- A revoke rewrites the row (history-outbox.ts: ON CONFLICT DO UPDATE of content and is_revoked):
-- its text leaves the index. A contentless index forgets a row only when given the text it indexed,
-- which OLD still holds; the WHEN clause keeps a repeated write (same values) from touching it.
-- Nothing else changes a stored message, but any change of its text is followed all the same.
CREATE TRIGGER `messages_search_update` AFTER UPDATE OF `content`, `is_revoked`, `message_type` ON `messages`
WHEN OLD.content IS NOT NEW.content OR OLD.is_revoked IS NOT NEW.is_revoked OR OLD.message_type IS NOT NEW.message_type
BEGIN
	INSERT INTO message_search (message_search, rowid, body)
		SELECT 'delete', doc_id, CAST(OLD.content AS TEXT) FROM message_search_docs
		WHERE conversation_id = OLD.conversation_id AND seq = OLD.seq
			AND OLD.message_type = 1 AND OLD.is_revoked = 0;
	DELETE FROM message_search_docs WHERE conversation_id = OLD.conversation_id AND seq = OLD.seq;
	INSERT OR IGNORE INTO message_search_docs (doc_id, conversation_id, seq)
		SELECT slot, NEW.conversation_id, NEW.seq FROM (
			SELECT CASE
					WHEN max(doc_id) IS NULL THEN t.base
					WHEN max(doc_id) < t.base + 1023 THEN max(doc_id) + 1
					ELSE (SELECT coalesce(max(doc_id), 0) + 1 FROM message_search_docs)
				END AS slot
			FROM (SELECT min(max(NEW.server_time, 0), 8796093022207) * 1024 AS base) t
				LEFT JOIN message_search_docs ON doc_id BETWEEN t.base AND t.base + 1023
		) WHERE NEW.message_type = 1 AND NEW.is_revoked = 0;
	INSERT INTO message_search (rowid, body)
		SELECT doc_id, CAST(NEW.content AS TEXT) FROM message_search_docs
		WHERE conversation_id = NEW.conversation_id AND seq = NEW.seq
			AND NEW.message_type = 1 AND NEW.is_revoked = 0;
END;
--> statement-breakpoint

CREATE TRIGGER `messages_search_delete` AFTER DELETE ON `messages`
WHEN OLD.message_type = 1 AND OLD.is_revoked = 0
BEGIN
	INSERT INTO message_search (message_search, rowid, body)
		SELECT 'delete', doc_id, CAST(OLD.content AS TEXT) FROM message_search_docs
		WHERE conversation_id = OLD.conversation_id AND seq = OLD.seq;
	DELETE FROM message_search_docs WHERE conversation_id = OLD.conversation_id AND seq = OLD.seq;
END;
--> statement-breakpoint

-- single_<a>_<b>: both read everything. Ids never contain "_" (conversation-id.ts). A row already
-- there costs one look-up and no write.
CREATE TRIGGER `messages_readers_single` AFTER INSERT ON `messages`
WHEN NEW.conversation_type = 1 AND NEW.conversation_id LIKE 'single\_%\_%' ESCAPE '\'
BEGIN
	INSERT OR IGNORE INTO history_readers (user_id, conversation_id, first_seq, last_seq, event_seq)
		SELECT substr(pair, 1, instr(pair, '_') - 1), NEW.conversation_id, 1, NULL, 0
			FROM (SELECT substr(NEW.conversation_id, 8) AS pair)
		UNION ALL
		SELECT substr(pair, instr(pair, '_') + 1), NEW.conversation_id, 1, NULL, 0
			FROM (SELECT substr(NEW.conversation_id, 8) AS pair);
END;
--> statement-breakpoint

-- Joins (group-commands.ts: group_created brings in its operator and userIDs; member_joined and
-- member_invited their userIDs): each reads from the notice's seq on, as members.join() records.
CREATE TRIGGER `messages_readers_join` AFTER INSERT ON `messages`
WHEN NEW.message_type = 8 AND NEW.conversation_type = 2 AND json_valid(CAST(NEW.content AS TEXT))
	AND json_extract(CAST(NEW.content AS TEXT), '$.type') IN ('group_created', 'member_joined', 'member_invited')
BEGIN
	INSERT INTO history_readers (user_id, conversation_id, first_seq, last_seq, event_seq)
		SELECT user_id, NEW.conversation_id, NEW.seq, NULL, NEW.seq FROM (
			SELECT value AS user_id FROM json_each(CAST(NEW.content AS TEXT), '$.userIDs') WHERE type = 'text'
			UNION
			SELECT json_extract(CAST(NEW.content AS TEXT), '$.operatorID')
				WHERE json_extract(CAST(NEW.content AS TEXT), '$.type') = 'group_created'
		) WHERE user_id IS NOT NULL
		ON CONFLICT (user_id, conversation_id) DO UPDATE SET
			first_seq = excluded.first_seq, last_seq = NULL, event_seq = excluded.event_seq
			WHERE excluded.event_seq > history_readers.event_seq;
END;
--> statement-breakpoint

-- Leaves (member_left; member_kicked, whose userIDs may also name former members and requesters,
-- who are not in): a member still in reads up to the notice's seq, as members.leave() records.
CREATE TRIGGER `messages_readers_leave` AFTER INSERT ON `messages`
WHEN NEW.message_type = 8 AND NEW.conversation_type = 2 AND json_valid(CAST(NEW.content AS TEXT))
	AND json_extract(CAST(NEW.content AS TEXT), '$.type') IN ('member_left', 'member_kicked')
BEGIN
	UPDATE history_readers SET last_seq = NEW.seq, event_seq = NEW.seq
		WHERE conversation_id = NEW.conversation_id AND last_seq IS NULL AND event_seq < NEW.seq
			AND user_id IN (SELECT value FROM json_each(CAST(NEW.content AS TEXT), '$.userIDs'));
END;
--> statement-breakpoint

-- Backfill from the history already stored: the index, the one-to-one pairs, and each group
-- member's range (their last join, and the first leave after it, if any). From `messages` alone.
INSERT OR IGNORE INTO message_search_docs (doc_id, conversation_id, seq)
	SELECT min(max(server_time, 0), 8796093022207) * 1024
			+ row_number() OVER (PARTITION BY server_time ORDER BY rowid) - 1,
		conversation_id, seq
	FROM messages WHERE message_type = 1 AND is_revoked = 0;
--> statement-breakpoint
INSERT INTO message_search (rowid, body)
	SELECT d.doc_id, CAST(m.content AS TEXT)
	FROM message_search_docs d JOIN messages m ON m.conversation_id = d.conversation_id AND m.seq = d.seq;
--> statement-breakpoint
-- One-to-one pairs from the history's own conversation ids, as the trigger does: a history shard has
-- no `conversations` table rows to go by (they stay in the main database), and this file is run
-- again to rebuild a shard's index (README, "Back up the database").
INSERT OR IGNORE INTO history_readers (user_id, conversation_id, first_seq, last_seq, event_seq)
	WITH pairs AS (
		SELECT DISTINCT conversation_id, substr(conversation_id, 8) AS pair FROM messages
		WHERE conversation_type = 1 AND conversation_id LIKE 'single\_%\_%' ESCAPE '\'
	)
	SELECT substr(pair, 1, instr(pair, '_') - 1), conversation_id, 1, NULL, 0 FROM pairs
	UNION ALL
	SELECT substr(pair, instr(pair, '_') + 1), conversation_id, 1, NULL, 0 FROM pairs;
--> statement-breakpoint
INSERT OR REPLACE INTO history_readers (user_id, conversation_id, first_seq, last_seq, event_seq)
	WITH notices AS (
		SELECT conversation_id, seq, CAST(content AS TEXT) AS body FROM messages
		WHERE message_type = 8 AND conversation_type = 2 AND json_valid(CAST(content AS TEXT))
	),
	joins AS (
		SELECT n.conversation_id, j.value AS user_id, n.seq FROM notices n, json_each(n.body, '$.userIDs') j
			WHERE json_extract(n.body, '$.type') IN ('group_created', 'member_joined', 'member_invited')
				AND j.type = 'text'
		UNION ALL
		SELECT conversation_id, json_extract(body, '$.operatorID'), seq FROM notices
			WHERE json_extract(body, '$.type') = 'group_created'
	),
	leaves AS (
		SELECT n.conversation_id, l.value AS user_id, n.seq FROM notices n, json_each(n.body, '$.userIDs') l
			WHERE json_extract(n.body, '$.type') IN ('member_left', 'member_kicked')
	),
	last_joins AS (
		SELECT conversation_id, user_id, MAX(seq) AS first_seq FROM joins
			WHERE user_id IS NOT NULL GROUP BY conversation_id, user_id
	)
	SELECT j.user_id, j.conversation_id, j.first_seq, l.last_seq, COALESCE(l.last_seq, j.first_seq)
	FROM last_joins j LEFT JOIN (
		SELECT lj.conversation_id, lj.user_id, MIN(lv.seq) AS last_seq
		FROM last_joins lj JOIN leaves lv
			ON lv.conversation_id = lj.conversation_id AND lv.user_id = lj.user_id AND lv.seq > lj.first_seq
		GROUP BY lj.conversation_id, lj.user_id
	) l ON l.conversation_id = j.conversation_id AND l.user_id = j.user_id;
