// Stand-ins for APNs, FCM (its OAuth token endpoint and HTTP v1 send) and a team's push webhook, on
// one loopback HTTP server. Each checks a request as the provider documents it and records what it
// accepted; a request that breaks a rule is recorded as a violation and answered 400, so a test that
// expects no violations fails on any wrong header, claim or payload.
// - APNs (token-based auth): POST /3/device/<token>; `authorization: bearer <JWT>` whose header has
//   alg ES256 and kid = the key id, whose claims have iss = the team id and a recent iat, verified
//   with the key's public half; apns-topic = the bundle id, apns-push-type alert, apns-priority 10
//   or 5, apns-expiration a number, apns-collapse-id at most 64 bytes; a JSON body with an aps
//   dictionary (alert, badge). Dead tokens answer 410 {"reason":"Unregistered"}.
// - FCM token endpoint: POST /token, form-encoded grant_type
//   urn:ietf:params:oauth:grant-type:jwt-bearer and an RS256 assertion (iss = client_email,
//   aud = this endpoint, scope firebase.messaging, exp ≤ iat + 3600) verified with the service
//   account's public key; answers {access_token, expires_in, token_type}.
// - FCM send: POST /v1/projects/<project>/messages:send with `Authorization: Bearer` of a token it
//   issued and {message: {token, notification, data (strings), android.collapse_key}}. Dead tokens
//   answer 404 NOT_FOUND with errorCode UNREGISTERED in the details.
// - Webhook: POST /hook signed `X-Edge-IM-Signature: t=…,v1=…` (HMAC-SHA256 over `<t>.<body>`).
import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { closeLoopback, listenOnLoopback } from "./loopback";
import { signedBy } from "./webhook-signature";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { decodeProtectedHeader, importSPKI, jwtVerify } from "jose";

export const APNS_KEY_ID = "ABC123DEFG";
export const APNS_TEAM_ID = "TEAM123456";
export const BUNDLE_ID = "com.example.edgeim";
export const FCM_PROJECT = "edge-im-test";
const FCM_EMAIL = "push@edge-im-test.iam.gserviceaccount.com";

/** What a token's requests are answered with. */
export type Behaviour = "ok" | "dead" | "flaky" | "fail";

export interface Received {
  provider: "apns" | "fcm" | "webhook";
  token: string;
  at: number;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
  /** The answer's status. */
  status: number;
}

function pem(key: KeyObject, type: "pkcs8" | "spki"): string {
  return key.export({ format: "pem", type }).toString();
}

export class PushStandIns {
  readonly received: Received[] = [];
  readonly violations: string[] = [];
  readonly tokenRequests: number[] = [];
  readonly behaviours = new Map<string, Behaviour>();
  /** While set, token requests are held unanswered (a consumer caught before its send). */
  holdTokenRequests = false;
  readonly webhookSecret = randomBytes(24).toString("hex");
  private readonly apnsKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  private readonly fcmKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  private readonly issued = new Set<string>();
  private readonly failedOnce = new Set<string>();
  private readonly server: Server;
  origin = "";

  constructor() {
    this.server = createServer((request, response) => {
      let raw = "";
      request.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
      request.on("end", () => {
        this.handle(request, raw, response).catch((error: unknown) => {
          this.violations.push(`stand-in error: ${String(error)}`);
          response.writeHead(500).end();
        });
      });
    });
  }

  async start(): Promise<void> {
    this.origin = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeLoopback(this.server);
  }

  /** The server's variables for these stand-ins (keys as base64: a PEM cannot be a `--var`). */
  vars(): Record<string, string> {
    const account = {
      type: "service_account",
      project_id: FCM_PROJECT,
      client_email: FCM_EMAIL,
      private_key: pem(this.fcmKeys.privateKey, "pkcs8"),
      token_uri: `${this.origin}/token`,
    };
    return {
      APNS_URL: this.origin,
      APNS_SANDBOX_URL: this.origin,
      APNS_KEY_ID,
      APNS_TEAM_ID,
      APNS_PRIVATE_KEY: Buffer.from(pem(this.apnsKeys.privateKey, "pkcs8")).toString("base64"),
      FCM_URL: this.origin,
      FCM_SERVICE_ACCOUNT: Buffer.from(JSON.stringify(account)).toString("base64"),
      PUSH_WEBHOOK_URL: `${this.origin}/hook`,
      PUSH_WEBHOOK_SECRET: this.webhookSecret,
    };
  }

  /** What reached the provider for this token and was accepted (2xx). */
  delivered(token: string): Received[] {
    return this.received.filter((r) => r.token === token && r.status >= 200 && r.status < 300);
  }

  /** Every request for this token, whatever it was answered. */
  requests(token: string): Received[] {
    return this.received.filter((r) => r.token === token);
  }

  private answer(token: string): number {
    const behaviour = this.behaviours.get(token) ?? "ok";
    if (behaviour === "flaky" && !this.failedOnce.has(token)) {
      this.failedOnce.add(token);
      return 503;
    }
    if (behaviour === "fail") return 500;
    if (behaviour === "dead") return -1;
    return 200;
  }

  private async handle(request: IncomingMessage, raw: string, response: ServerResponse): Promise<unknown> {
    const url = new URL(request.url ?? "/", this.origin);
    const json = (status: number, body: unknown): unknown =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const refuse = (why: string) => {
      this.violations.push(`${url.pathname}: ${why}`);
      json(400, { reason: "BadRequest", why });
    };
    if (request.method !== "POST") return refuse(`method ${request.method}`);

    if (url.pathname.startsWith("/3/device/")) {
      const token = decodeURIComponent(url.pathname.slice("/3/device/".length));
      const problem = await this.checkApns(request, raw);
      if (problem) return refuse(problem);
      const status = this.answer(token);
      this.received.push({
        provider: "apns",
        token,
        at: Date.now(),
        headers: request.headers,
        body: JSON.parse(raw),
        status: status === -1 ? 410 : status,
      });
      if (status === -1) return json(410, { reason: "Unregistered", timestamp: Date.now() });
      if (status !== 200)
        return json(status, { reason: status === 503 ? "ServiceUnavailable" : "InternalServerError" });
      return response.writeHead(200, { "apns-id": crypto.randomUUID() }).end();
    }

    if (url.pathname === "/token") {
      this.tokenRequests.push(Date.now());
      const problem = await this.checkTokenRequest(request, raw);
      if (problem) return refuse(problem);
      if (this.holdTokenRequests) return; // never answered: the consumer is caught before its send
      const accessToken = `ya29.${randomBytes(16).toString("hex")}`;
      this.issued.add(accessToken);
      return json(200, { access_token: accessToken, expires_in: 3599, token_type: "Bearer" });
    }

    const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname);
    if (send) {
      const problem = this.checkFcm(request, raw, send[1] ?? "");
      if (problem) return refuse(problem);
      const body = JSON.parse(raw) as { message: { token: string } };
      const token = body.message.token;
      const status = this.answer(token);
      this.received.push({
        provider: "fcm",
        token,
        at: Date.now(),
        headers: request.headers,
        body,
        status: status === -1 ? 404 : status,
      });
      if (status === -1)
        return json(404, {
          error: {
            code: 404,
            message: "Requested entity was not found.",
            status: "NOT_FOUND",
            details: [
              { "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "UNREGISTERED" },
            ],
          },
        });
      if (status !== 200)
        return json(status, { error: { code: status, status: "UNAVAILABLE", message: "try later" } });
      return json(200, { name: `projects/${FCM_PROJECT}/messages/${randomBytes(8).toString("hex")}` });
    }

    if (url.pathname === "/hook") {
      if (!this.signed(raw, request.headers["x-edge-im-signature"]))
        return refuse("bad or stale X-Edge-IM-Signature");
      if (request.headers["x-edge-im-event"] !== "push") return refuse("X-Edge-IM-Event is not push");
      if (typeof request.headers["x-edge-im-delivery"] !== "string") return refuse("no X-Edge-IM-Delivery");
      const body = JSON.parse(raw) as {
        event: string;
        device: { token: string };
        notification: Record<string, unknown>;
      };
      if (body.event !== "push" || typeof body.notification?.badge !== "number")
        return refuse("payload shape");
      const status = this.answer(body.device.token);
      this.received.push({
        provider: "webhook",
        token: body.device.token,
        at: Date.now(),
        headers: request.headers,
        body,
        status: status === -1 ? 410 : status,
      });
      return response.writeHead(status === -1 ? 410 : status).end();
    }
    return refuse("unknown path");
  }

  private async checkApns(request: IncomingMessage, raw: string): Promise<string | null> {
    const h = request.headers;
    const auth = /^bearer (.+)$/.exec(String(h.authorization ?? ""));
    if (!auth?.[1]) return "no bearer provider token";
    const header = decodeProtectedHeader(auth[1]);
    if (header.alg !== "ES256" || header.kid !== APNS_KEY_ID) return `JWT header ${JSON.stringify(header)}`;
    try {
      const key = await importSPKI(pem(this.apnsKeys.publicKey, "spki"), "ES256");
      const { payload } = await jwtVerify(auth[1], key, { algorithms: ["ES256"], issuer: APNS_TEAM_ID });
      if (typeof payload.iat !== "number" || Math.abs(Date.now() / 1000 - payload.iat) > 3600)
        return "iat missing or older than an hour";
    } catch (error) {
      return `JWT does not verify: ${String(error)}`;
    }
    if (h["apns-topic"] !== BUNDLE_ID) return `apns-topic ${String(h["apns-topic"])}`;
    if (h["apns-push-type"] !== "alert") return "apns-push-type is not alert";
    if (!["10", "5"].includes(String(h["apns-priority"]))) return "apns-priority";
    if (!/^\d+$/.test(String(h["apns-expiration"] ?? ""))) return "apns-expiration";
    const collapse = String(h["apns-collapse-id"] ?? "");
    if (collapse.length === 0 || Buffer.byteLength(collapse) > 64) return "apns-collapse-id";
    const body = JSON.parse(raw) as { aps?: { alert?: { title?: unknown }; badge?: unknown } };
    if (typeof body.aps?.alert?.title !== "string" || typeof body.aps.badge !== "number")
      return "aps payload";
    if (Buffer.byteLength(raw) > 4096) return "payload over 4 KB";
    return null;
  }

  private async checkTokenRequest(request: IncomingMessage, raw: string): Promise<string | null> {
    if (!String(request.headers["content-type"]).startsWith("application/x-www-form-urlencoded"))
      return "content-type";
    const form = new URLSearchParams(raw);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return "grant_type";
    const assertion = form.get("assertion") ?? "";
    try {
      const key = await importSPKI(pem(this.fcmKeys.publicKey, "spki"), "RS256");
      const { payload, protectedHeader } = await jwtVerify(assertion, key, {
        algorithms: ["RS256"],
        issuer: FCM_EMAIL,
        audience: `${this.origin}/token`,
      });
      if (protectedHeader.alg !== "RS256") return "assertion alg";
      if (payload.scope !== "https://www.googleapis.com/auth/firebase.messaging") return "scope";
      if (
        typeof payload.iat !== "number" ||
        typeof payload.exp !== "number" ||
        payload.exp - payload.iat > 3600
      )
        return "iat/exp";
    } catch (error) {
      return `assertion does not verify: ${String(error)}`;
    }
    return null;
  }

  private checkFcm(request: IncomingMessage, raw: string, project: string): string | null {
    if (project !== FCM_PROJECT) return `project ${project}`;
    const auth = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ""));
    if (!auth?.[1] || !this.issued.has(auth[1])) return "access token not issued here";
    const body = JSON.parse(raw) as {
      message?: {
        token?: unknown;
        notification?: { title?: unknown };
        data?: Record<string, unknown>;
        android?: { collapse_key?: unknown };
      };
    };
    const m = body.message;
    if (typeof m?.token !== "string") return "message.token";
    if (typeof m.notification?.title !== "string") return "message.notification.title";
    if (!m.data || Object.values(m.data).some((v) => typeof v !== "string"))
      return "message.data values must be strings";
    if (typeof m.android?.collapse_key !== "string") return "message.android.collapse_key";
    return null;
  }

  private signed(raw: string, header: string | string[] | undefined): boolean {
    return signedBy(this.webhookSecret, raw, header);
  }
}
