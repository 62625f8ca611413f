// Headers the worker sets on an authenticated upgrade before handing it to the UserObject.
export const UPGRADE_HEADERS = {
  userId: "X-IM-User",
  /** The login session of the token (its `sid`): logout closes the sockets opened with it. */
  sessionId: "X-IM-Session",
  platform: "X-IM-Platform",
  deviceId: "X-IM-Device",
  subprotocol: "X-IM-Subprotocol",
} as const;

/** The subprotocol a browser client offers beside its `token.<JWT>` (PROTOCOL.md, decision 14). */
export const SUBPROTOCOL = "im.v1";
