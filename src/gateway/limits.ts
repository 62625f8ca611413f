// Every bound the gateway enforces, with the reason for its value.

/** The SDK's decoder rejects a body over 1 MiB as a corrupt stream (IMPacketCodecConfig.maxPacketSize). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The SDK's receive buffer (IMPacketCodecConfig.maxBufferSize, 2 MiB): the gateway never holds more
 * than this of one client's unread output before treating the client as too slow.
 */
export const MAX_CLIENT_WRITE_BUFFER_BYTES = 2 * 1024 * 1024;

/**
 * The upstream WebSocket's send buffer above which the gateway stops reading the client's TCP socket
 * (and below LOW, resumes): the client cannot make the gateway hold more than about one frame.
 */
export const UPSTREAM_BUFFER_HIGH_BYTES = 1024 * 1024;
export const UPSTREAM_BUFFER_LOW_BYTES = 256 * 1024;

/** Largest upstream frame: a maximal body plus room for the WebSocketMessage envelope's fields. */
export const MAX_UPSTREAM_FRAME_BYTES = MAX_BODY_BYTES + 64;

/**
 * Frames a client may send between its AUTH_REQ and the upstream socket opening, and their bytes:
 * the SDK sends nothing until AUTH_RSP arrives, so a few is generous.
 */
export const MAX_FRAMES_BEFORE_UPSTREAM = 64;
export const MAX_BYTES_BEFORE_UPSTREAM = 2 * 1024 * 1024;

/** A client that has not sent AUTH_REQ by then is closed (the server's own limit, PROTOCOL.md decision 4). */
export const AUTH_TIMEOUT_MS = 10_000;

/** The upgrade to the worker must complete by then (the SDK waits 30 s for AUTH_RSP on TCP). */
export const UPSTREAM_OPEN_TIMEOUT_MS = 15_000;

/**
 * Nothing from the client for this long closes it: the SDK heartbeats every 30 s, so three missed
 * heartbeats mean the peer is gone.
 */
export const IDLE_TIMEOUT_MS = 90_000;

/**
 * A client whose socket stays unwritable this long is closed: the SDK gives up on a heartbeat after
 * 10 s, so a reader stalled for 30 s is not coming back. The CLI's --slow-reader-ms overrides it.
 */
export const SLOW_READER_TIMEOUT_MS = 30_000;

/**
 * Connections held at once. Each costs two descriptors (TCP in, WebSocket out) and some tens of KB
 * (README, "what a connection costs"); 10,000 stays inside a 65,536 descriptor limit with room.
 */
export const MAX_CONNECTIONS = 10_000;

/** On SIGINT/SIGTERM, connections get this long to close cleanly before they are cut. */
export const SHUTDOWN_GRACE_MS = 5_000;

/** The worker's 401 body is a short JSON envelope; read no more of any refusal than this. */
export const MAX_REFUSAL_BODY_BYTES = 4 * 1024;

/** The worker keeps at most 32 characters of a platform name (src/worker/routes/ws.ts). */
export const MAX_PLATFORM_CHARS = 32;

/** A WebSocket close reason must fit in 123 bytes (RFC 6455, 5.5); ours are short ASCII. */
export const MAX_CLOSE_REASON_CHARS = 100;

/** The part of a refusal's message passed on in AUTH_RSP.error_msg. */
export const MAX_ERROR_MSG_CHARS = 200;
