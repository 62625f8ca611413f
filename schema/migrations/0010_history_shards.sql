CREATE TABLE `conversation_shards` (
	`conversation_id` text PRIMARY KEY NOT NULL,
	`shard` text NOT NULL,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL
);
