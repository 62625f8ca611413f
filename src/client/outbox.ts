// Sends in flight: acked by client_msg_id, resent unchanged on ack timeout and reconnect, within a budget.
// One outbox serves the main socket's SEND_MSG_REQ and each chatroom socket's CHATROOM_SEND_REQ:
// both answers carry the same fields.
import { Err } from "../protocol/codec.ts";
import { IMConnectionError, IMError, IMProtocolError, IMTimeoutError } from "./errors.ts";
import type { SendResult } from "./types.ts";

/** What the outbox keys a send on, and where its result says it went. */
export interface OutboxItem {
  clientMsgId: string;
  conversationId: string;
}

/** SEND_MSG_RSP and CHATROOM_SEND_RSP alike. */
export interface SendAnswer {
  errorCode?: number | null;
  errorMsg?: string | null;
  clientMsgId: string;
  serverMsgId: string;
  seq: number;
  serverTime: number;
}

/**
 * Sends on the wire at once after a (re)connect; the rest go out as answers come back. A burst of
 * every unacked send would run into the server's per-socket and per-sender budgets.
 */
export const RESUME_WINDOW = 20;

/** Refusals the server asks the client to retry: the message was not stored. */
const RETRYABLE = new Set<number>([Err.ERR_UNKNOWN, Err.ERR_SEND_TOO_FAST]);

interface InFlight<T extends OutboxItem> {
  info: T;
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  lastError: IMError | null;
  promise: Promise<SendResult>;
  resolve: (result: SendResult) => void;
  reject: (error: Error) => void;
}

export interface OutboxOptions<T extends OutboxItem> {
  /** The request's command, named in a refusal (IMProtocolError.command). */
  command: number;
  /** How long to wait for SEND_MSG_RSP before sending again, in ms. */
  ackTimeoutMs: number;
  /** Transmissions per message, the first included. */
  maxAttempts: number;
  /** Puts a SEND_MSG_REQ on the wire; false when no authenticated socket is open. */
  transmit: (info: T) => boolean;
  /** The server stored a message of ours: it belongs in the conversation's timeline now. */
  acked: (sent: T, result: SendResult) => void;
}

export class Outbox<T extends OutboxItem> {
  private readonly inFlight = new Map<string, InFlight<T>>();
  /** Sends waiting for a place in the window after a resume, oldest first. */
  private readonly queued: InFlight<T>[] = [];
  private readonly options: OutboxOptions<T>;

  constructor(options: OutboxOptions<T>) {
    this.options = options;
  }

  get size(): number {
    return this.inFlight.size;
  }

  /** Sends now if connected, else at the next (re)connect. A repeated client_msg_id joins the first. */
  send(info: T): Promise<SendResult> {
    const existing = this.inFlight.get(info.clientMsgId);
    if (existing) return existing.promise;
    let resolve!: (result: SendResult) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<SendResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: InFlight<T> = {
      info,
      attempts: 0,
      timer: undefined,
      lastError: null,
      promise,
      resolve,
      reject,
    };
    this.inFlight.set(info.clientMsgId, entry);
    // Behind a resume's backlog, a new send waits its turn too.
    if (this.queued.length > 0) this.queued.push(entry);
    else this.transmit(entry);
    return promise;
  }

  /** A SEND_MSG_RSP: settles its send; a late duplicate (after a resend) finds nothing and is ignored. */
  handle(response: SendAnswer): void {
    const entry = this.inFlight.get(response.clientMsgId);
    if (!entry) return;
    const code = response.errorCode ?? Err.ERR_SUCCESS;
    if (code !== Err.ERR_SUCCESS) {
      const error = new IMProtocolError(code, response.errorMsg ?? "", this.options.command);
      if (RETRYABLE.has(code) && entry.attempts < this.options.maxAttempts) {
        entry.lastError = error; // the timer sends it again
        return;
      }
      return this.settle(entry, error);
    }
    const result: SendResult = {
      clientMsgId: entry.info.clientMsgId,
      conversationId: entry.info.conversationId,
      serverMsgId: response.serverMsgId,
      seq: Number(response.seq),
      serverTime: Number(response.serverTime),
    };
    this.settle(entry, result);
    this.options.acked(entry.info, result);
  }

  /** After a (re)connect: everything not acked goes out again, RESUME_WINDOW at a time. */
  resume(): void {
    this.queued.length = 0;
    const entries = [...this.inFlight.values()];
    entries.forEach((entry, i) => {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      if (i < RESUME_WINDOW) this.transmit(entry);
      else this.queued.push(entry);
    });
  }

  /** The socket is gone: stop the ack clocks until `resume()`. */
  pause(): void {
    this.queued.length = 0;
    for (const entry of this.inFlight.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  /** The client stopped: nothing will go out any more. */
  failAll(reason: string): void {
    for (const entry of [...this.inFlight.values()]) this.settle(entry, new IMConnectionError(reason));
  }

  private transmit(entry: InFlight<T>): void {
    if (entry.attempts >= this.options.maxAttempts) {
      const spent = `no ack for ${entry.info.clientMsgId} after ${entry.attempts} attempts`;
      return this.settle(entry, entry.lastError ?? new IMTimeoutError(spent));
    }
    if (!this.options.transmit(entry.info)) return; // offline: resume() sends it
    entry.attempts++;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.transmit(entry);
    }, this.options.ackTimeoutMs);
  }

  private settle(entry: InFlight<T>, outcome: SendResult | Error): void {
    clearTimeout(entry.timer);
    const wasInFlight = this.inFlight.delete(entry.info.clientMsgId);
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
    if (wasInFlight) this.sendNextQueued();
  }

  /** An answer freed a place in the window: the oldest queued send takes it. */
  private sendNextQueued(): void {
    for (let next = this.queued.shift(); next; next = this.queued.shift())
      if (this.inFlight.has(next.info.clientMsgId)) return this.transmit(next);
  }
}
