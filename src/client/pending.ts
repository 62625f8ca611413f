// Requests waiting for their response, keyed by sequence or request_id, each with its own deadline.
import { Cmd, type Frame } from "../protocol/codec.ts";
import { IMTimeoutError } from "./errors.ts";

/** A response type: its command and its generated decoder. */
export interface ResponseType<T> {
  command: Cmd;
  decode(bytes: Uint8Array): T;
}

/** Responses matched to their request by the envelope's sequence. */
export const BY_SEQUENCE = new Set<number>([
  Cmd.CMD_CONNECT_RSP,
  Cmd.CMD_DISCONNECT_RSP,
  Cmd.CMD_HEARTBEAT_RSP,
  Cmd.CMD_AUTH_RSP,
  Cmd.CMD_REAUTH_RSP,
  Cmd.CMD_BATCH_SYNC_RSP,
  Cmd.CMD_REVOKE_MSG_RSP,
  Cmd.CMD_ONLINE_STATUS_RSP,
  Cmd.CMD_READ_RECEIPT_RSP,
  Cmd.CMD_REACT_RSP,
  Cmd.CMD_EDIT_MSG_RSP,
  Cmd.CMD_PIN_RSP,
  Cmd.CMD_THREAD_RSP,
  Cmd.CMD_CHANGES_RSP,
  Cmd.CMD_EDIT_HISTORY_RSP,
]);

interface Waiter {
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  private readonly waiters = new Map<string, Waiter>();

  /** Waits for `settle(key, …)`; rejects with IMTimeoutError after `timeoutMs`. */
  wait(key: string, timeoutMs: number, what: string): Promise<Frame> {
    if (this.waiters.has(key)) return Promise.reject(new Error(`duplicate request key ${key}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new IMTimeoutError(`${what}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
    });
  }

  has(key: string): boolean {
    return this.waiters.has(key);
  }

  /** Completes the request waiting on `key`; false when none was (a late or unknown answer). */
  settle(key: string, frame: Frame): boolean {
    const waiter = this.take(key);
    waiter?.resolve(frame);
    return waiter !== undefined;
  }

  fail(key: string, error: Error): boolean {
    const waiter = this.take(key);
    waiter?.reject(error);
    return waiter !== undefined;
  }

  /** Rejects everything still waiting (the socket closed: no answer can come any more). */
  failAll(error: Error): void {
    for (const key of [...this.waiters.keys()]) this.fail(key, error);
  }

  private take(key: string): Waiter | undefined {
    const waiter = this.waiters.get(key);
    if (!waiter) return undefined;
    clearTimeout(waiter.timer);
    this.waiters.delete(key);
    return waiter;
  }
}
