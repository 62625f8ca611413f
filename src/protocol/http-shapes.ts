// JSON shapes of the HTTP API that the server sends and the client SDK reads: defined once here.

/** A user profile (the SDK's `IMUser`, http-api.md §3.1): camelCase keys, ms timestamps. */
export interface UserJson {
  userID: string;
  nickname: string;
  avatar: string;
  phone: string;
  email: string;
  gender: number;
  birth: number;
  signature: string;
  extra: string;
  createTime: number;
  updateTime: number;
}

/** What login and refresh return. */
export interface LoginResult {
  token: string;
  userID: string;
  user: UserJson;
  /** Unix ms after which `token` is refused. */
  expiresAt: number;
  refreshToken: string;
  refreshExpiresAt: number;
}
