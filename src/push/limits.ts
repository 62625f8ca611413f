// Bounds on everything a client can make the push path hold, each named where it is enforced.

/** Push tokens one user may have registered; a new one past it replaces the least recently updated. */
export const MAX_DEVICES_PER_USER = 10;

/** Longest token accepted: APNs tokens are 64 hex characters today (Apple allows for growth), FCM's about 160. */
export const MAX_TOKEN_LENGTH = 4096;

/** Longest app id: a bundle id (at most 155 characters), an FCM project id (30), a team's app name. */
export const MAX_APP_ID_LENGTH = 200;

/** Characters of a message's text a notification shows. */
export const PREVIEW_MAX_CHARS = 120;

/** Jobs a user's object keeps unconfirmed; past it the oldest is forgotten (logged). */
export const MAX_OUTBOX_JOBS = 100;

/** Times a job nobody confirmed is put on the queue again before it is given up. */
export const MAX_REDELIVERIES = 2;

/** Conversations a user may hide previews of. */
export const MAX_HIDDEN_PREVIEWS = 1_000;

/** Longest a provider call may take before it counts as failed (and is retried). */
export const PROVIDER_TIMEOUT_MS = 10_000;

/** Longest delay between two tries of a job (the Queues API allows 12 hours). */
export const MAX_RETRY_DELAY_SECONDS = 900;

/** How long a job's sent records are kept: far longer than any retry or redelivery of it. */
export const DELIVERY_RECORD_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How long a consumer's claim on a (job, device) send holds before another copy of the job may take
 * it over (the first died mid-send): longer than the calls one send makes (an access token and the
 * send, PROVIDER_TIMEOUT_MS each). A copy that found the claim held retries once it lapses.
 */
export const CLAIM_TIMEOUT_MS = 30_000;
