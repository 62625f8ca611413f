CREATE TABLE `chatrooms` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`creator_id` text NOT NULL,
	`access` text DEFAULT 'open' NOT NULL,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	`closed_at` integer
);
--> statement-breakpoint
CREATE INDEX `chatrooms_creator_open` ON `chatrooms` (`creator_id`,`closed_at`);