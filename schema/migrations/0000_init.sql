CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`type` integer NOT NULL,
	`member_a` text,
	`member_b` text,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`conversation_id` text NOT NULL,
	`seq` integer NOT NULL,
	`server_msg_id` text NOT NULL,
	`client_msg_id` text NOT NULL,
	`sender_id` text NOT NULL,
	`receiver_id` text DEFAULT '' NOT NULL,
	`group_id` text DEFAULT '' NOT NULL,
	`conversation_type` integer NOT NULL,
	`message_type` integer NOT NULL,
	`content` blob NOT NULL,
	`send_time` integer NOT NULL,
	`server_time` integer NOT NULL,
	`extra` text DEFAULT '' NOT NULL,
	`attached_info` text DEFAULT '' NOT NULL,
	`is_revoked` integer DEFAULT false NOT NULL,
	`revoked_by` text DEFAULT '' NOT NULL,
	`revoked_time` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`conversation_id`, `seq`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_server_msg_id_unique` ON `messages` (`server_msg_id`);--> statement-breakpoint
CREATE INDEX `messages_sender_time` ON `messages` (`sender_id`,`server_time`);--> statement-breakpoint
CREATE TABLE `refresh_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`family_id` text NOT NULL,
	`platform` text DEFAULT '' NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`revoked_at` integer,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `refresh_tokens_family` ON `refresh_tokens` (`family_id`);--> statement-breakpoint
CREATE INDEX `refresh_tokens_user` ON `refresh_tokens` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`nickname` text DEFAULT '' NOT NULL,
	`password_hash` text NOT NULL,
	`avatar` text DEFAULT '' NOT NULL,
	`phone` text DEFAULT '' NOT NULL,
	`email` text DEFAULT '' NOT NULL,
	`gender` integer DEFAULT 0 NOT NULL,
	`birth` integer DEFAULT 0 NOT NULL,
	`signature` text DEFAULT '' NOT NULL,
	`extra` text DEFAULT '' NOT NULL,
	`status` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	`updated_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);