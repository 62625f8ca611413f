// What one provider call came to, and what the consumer does about it.

export type SendOutcome =
  /** The provider took it. */
  | { kind: "sent" }
  /** The provider says the token will never work again: the device is deleted. */
  | { kind: "dead"; reason: string }
  /** Worth another try later (a 429, a 5xx, a timeout, an expired credential). */
  | { kind: "retry"; reason: string; status: number }
  /** Refused for a reason another try will not change (a malformed request): logged, not retried. */
  | { kind: "failed"; reason: string; status: number };

/** What a status that no provider-specific rule covered means. */
export function outcomeOfStatus(status: number, reason: string): SendOutcome {
  if (status >= 200 && status < 300) return { kind: "sent" };
  if (status === 429 || status >= 500 || status === 408) return { kind: "retry", reason, status };
  return { kind: "failed", reason, status };
}

/** A provider that could not be reached (network, timeout): another try. */
export function unreachable(error: unknown): SendOutcome {
  const reason = error instanceof Error && error.name === "TimeoutError" ? "timeout" : "unreachable";
  return { kind: "retry", reason, status: 0 };
}
