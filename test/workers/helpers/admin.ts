// The admin API (/api/admin/*) as an operator calls it: with the admin credential from the test
// environment (vitest.config.ts), a client address, and the same envelope as every route.
import { env } from "cloudflare:test";
import { api, type ApiResponse } from "./http";

/** The address the admin calls come from (Cloudflare sets CF-Connecting-IP). */
export const ADMIN_ADDRESS = "203.0.113.7";

export function adminApi<T = unknown>(
  path: string,
  options: { method?: string; body?: unknown; rawBody?: string; credential?: string | null } = {},
): Promise<ApiResponse<T>> {
  const credential = options.credential === undefined ? env.ADMIN_TOKEN : options.credential;
  return api<T>(`/api/admin${path}`, {
    method: options.method,
    body: options.body,
    rawBody: options.rawBody,
    token: credential ?? undefined,
    headers: { "CF-Connecting-IP": ADMIN_ADDRESS },
  });
}

/** The data of a successful admin call; fails the test with the message otherwise. */
export async function adminOk<T = unknown>(path: string, options: Parameters<typeof adminApi>[1] = {}) {
  const response = await adminApi<T>(path, options);
  if (response.body.code !== 0) throw new Error(`${path}: ${response.body.code} ${response.body.message}`);
  return response.body.data as T;
}

export interface AuditEntry {
  id: number;
  time: number;
  action: string;
  target: string;
  params: Record<string, unknown>;
  clientIP: string;
  outcomeCode: number;
  outcome: string;
}

/** The newest audit entries, newest first. */
export async function latestAudit(limit = 20): Promise<AuditEntry[]> {
  const response = await adminApi<{ entries: AuditEntry[] }>(`/audit?limit=${limit}`);
  return response.body.data?.entries ?? [];
}
