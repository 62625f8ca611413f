CREATE TABLE `blocks` (
	`user_id` text NOT NULL,
	`blocked_id` text NOT NULL,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	PRIMARY KEY(`user_id`, `blocked_id`)
);
--> statement-breakpoint
CREATE TABLE `friend_requests` (
	`from_user_id` text NOT NULL,
	`to_user_id` text NOT NULL,
	`message` text DEFAULT '' NOT NULL,
	`status` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	`updated_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	PRIMARY KEY(`from_user_id`, `to_user_id`)
);
--> statement-breakpoint
CREATE INDEX `friend_requests_to` ON `friend_requests` (`to_user_id`,`status`);--> statement-breakpoint
CREATE TABLE `friends` (
	`user_id` text NOT NULL,
	`friend_id` text NOT NULL,
	`remark` text DEFAULT '' NOT NULL,
	`add_source` integer DEFAULT 0 NOT NULL,
	`operator_user_id` text DEFAULT '' NOT NULL,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	PRIMARY KEY(`user_id`, `friend_id`)
);
--> statement-breakpoint
CREATE TABLE `group_members` (
	`group_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` integer DEFAULT 0 NOT NULL,
	`group_nickname` text DEFAULT '' NOT NULL,
	`muted_until` integer DEFAULT 0 NOT NULL,
	`joined_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	PRIMARY KEY(`group_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `group_members_user` ON `group_members` (`user_id`);--> statement-breakpoint
CREATE TABLE `groups` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`face_url` text DEFAULT '' NOT NULL,
	`owner_id` text NOT NULL,
	`introduction` text DEFAULT '' NOT NULL,
	`notification` text DEFAULT '' NOT NULL,
	`extra` text DEFAULT '' NOT NULL,
	`status` integer DEFAULT 0 NOT NULL,
	`mute_all` integer DEFAULT false NOT NULL,
	`member_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	`updated_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `users_nickname_lower` ON `users` (lower("nickname"));