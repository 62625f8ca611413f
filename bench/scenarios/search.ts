// Scenario: message search (issue 15). Before the server starts, lib/search-corpus.ts writes the
// history (1,000,000 messages; 100,000 in quick mode) into its local D1 through the real tables and
// triggers. Then one user logs in and searches, one request at a time as a search box does, a mix
// of query kinds over all of their conversations and within one: the time of each GET
// /api/messages/search (first page, 20 results) from request to parsed body, p50/p95/max per kind
// and over all of them. The target is issue 15's: p95 ≤ 100 ms.
import type { ImSystem } from "../clients/systems.ts";
import { PLANTED, type Corpus } from "../lib/search-corpus.ts";
import { ErrorTally, nowMs, Samples } from "../lib/stats.ts";
import { cpuMeter, type ScenarioResult } from "./result.ts";

export interface SearchOptions {
  /** Rounds measured; each round runs every kind once, in order. */
  rounds: number;
  /** Rounds run first and not counted (the database file's pages into memory). */
  warmupRounds: number;
  /** Results per page, as a client asks. */
  limit: number;
}

interface QueryKind {
  /** Figure keys: `${key}P50`, `${key}P95`, `${key}Max`. */
  key: string;
  label: string;
  q: string;
  /** Only within this conversation of the searcher. */
  within?: "largestGroup" | "largestSingle";
}

/** What is searched: planted words of known frequency (lib/search-corpus.ts), across all or in one. */
export const QUERY_KINDS: readonly QueryKind[] = [
  { key: "enCommon", label: `English, common word ("${PLANTED.common}", 3%)`, q: PLANTED.common },
  { key: "enRare", label: `English, rare word ("${PLANTED.rare}", 0.01%)`, q: PLANTED.rare },
  {
    key: "enPair",
    label: `English, two words ("${PLANTED.pair.join(" ")}", 2% each)`,
    q: PLANTED.pair.join(" "),
  },
  { key: "zh", label: `Chinese substring ("${PLANTED.chinese}", 2%)`, q: PLANTED.chinese },
  {
    key: "zhShort",
    label: `Chinese 2 characters, no index ("${PLANTED.chineseShort}")`,
    q: PLANTED.chineseShort,
  },
  {
    key: "elsewhere",
    label: `word common only in others' conversations ("${PLANTED.elsewhere}")`,
    q: PLANTED.elsewhere,
  },
  {
    key: "groupEnCommon",
    label: `in the largest group: "${PLANTED.common}"`,
    q: PLANTED.common,
    within: "largestGroup",
  },
  {
    key: "groupZh",
    label: `in the largest group: "${PLANTED.chinese}"`,
    q: PLANTED.chinese,
    within: "largestGroup",
  },
  {
    key: "groupZhShort",
    label: `in the largest group: "${PLANTED.chineseShort}"`,
    q: PLANTED.chineseShort,
    within: "largestGroup",
  },
  {
    key: "singleEnCommon",
    label: `in the largest one-to-one: "${PLANTED.common}"`,
    q: PLANTED.common,
    within: "largestSingle",
  },
];

interface SearchBody {
  code: number;
  message: string;
  data?: { messages: unknown[]; nextCursor: string | null } | null;
}

async function login(origin: string, corpus: Corpus): Promise<string> {
  const response = await fetch(`${origin}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": "10.200.0.1" },
    body: JSON.stringify({ username: corpus.username, password: corpus.password, platform: "bench" }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as { code: number; message: string; data?: { token: string } };
  if (body.code !== 0 || !body.data) throw new Error(`login: ${body.code} ${body.message}`);
  return body.data.token;
}

export async function search(system: ImSystem, corpus: Corpus, o: SearchOptions): Promise<ScenarioResult> {
  const origin = system.server.origin;
  const token = await login(origin, corpus);
  const errors = new ErrorTally();
  const samples = new Map(QUERY_KINDS.map((k) => [k.key, new Samples()]));
  const all = new Samples();
  const pages: Record<string, { results: number; more: boolean }> = {};

  const once = async (kind: QueryKind): Promise<number | null> => {
    const params = new URLSearchParams({ q: kind.q, limit: String(o.limit) });
    if (kind.within) params.set("conversationID", corpus[kind.within]);
    const started = nowMs();
    try {
      const response = await fetch(`${origin}/api/messages/search?${params.toString()}`, {
        headers: { Authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await response.json()) as SearchBody;
      const elapsed = nowMs() - started;
      if (body.code !== 0 || !body.data) throw new Error(`${kind.key}: ${body.code} ${body.message}`);
      pages[kind.key] = { results: body.data.messages.length, more: body.data.nextCursor !== null };
      return elapsed;
    } catch (error) {
      errors.add(error);
      return null;
    }
  };

  for (let round = 0; round < o.warmupRounds; round++) for (const kind of QUERY_KINDS) await once(kind);
  const meter = cpuMeter(system.server);
  for (let round = 0; round < o.rounds; round++) {
    for (const kind of QUERY_KINDS) {
      const ms = await once(kind);
      if (ms === null) continue;
      samples.get(kind.key)?.add(ms);
      all.add(ms);
    }
  }
  const cpu = meter.stop();

  const figures: Record<string, number | null> = {};
  const byKind: Record<string, unknown> = {};
  for (const kind of QUERY_KINDS) {
    const summary = (samples.get(kind.key) as Samples).summary();
    figures[`${kind.key}P50`] = summary.p50;
    figures[`${kind.key}P95`] = summary.p95;
    figures[`${kind.key}Max`] = summary.max;
    byKind[kind.key] = {
      label: kind.label,
      q: kind.q,
      within: kind.within ?? null,
      ms: summary,
      page: pages[kind.key],
    };
  }
  const overall = all.summary();
  return {
    figures: {
      messages: corpus.counts.messages,
      readable: corpus.counts.readable,
      corpusSeconds: corpus.seconds,
      p50: overall.p50,
      p95: overall.p95,
      max: overall.max,
      ...figures,
      failures: errors.total,
    },
    details: { options: o, corpus, overall, byKind },
    errors: errors.toJSON(),
    cpu,
  };
}
