-- Rich messages (docs/RICH-MESSAGES.md): how many times a message was edited, so the history copy
-- replaces a row's content only with a later edit (src/objects/conversation/history-outbox.ts).
ALTER TABLE `messages` ADD `edit_count` integer DEFAULT 0 NOT NULL;