CREATE TABLE `admin_audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	`action` text NOT NULL,
	`target` text DEFAULT '' NOT NULL,
	`params` text DEFAULT '{}' NOT NULL,
	`client_ip` text DEFAULT '' NOT NULL,
	`outcome_code` integer NOT NULL,
	`outcome` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `messages_server_time` ON `messages` (`server_time`);