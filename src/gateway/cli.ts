#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
// `edge-im-gateway --upstream wss://host/ws --port 8082 [--host H] [--tls-cert F --tls-key F]`:
// runs the TCP gateway until SIGINT or SIGTERM, then closes every connection on both sides.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SLOW_READER_TIMEOUT_MS } from "./limits.ts";
import { consoleLogger } from "./log.ts";
import { startGateway } from "./server.ts";

const USAGE = `edge-im-gateway --upstream wss://host/ws --port 8082 [options]

  --upstream URL        the worker's WebSocket endpoint (ws:// or wss://, path /ws)
  --port N              TCP port for SDK clients (default 8082)
  --host H              address to listen on (default: all)
  --tls-cert FILE       PEM certificate chain: serve TLS (clients use tcps:// or tls://)
  --tls-key FILE        PEM private key for --tls-cert
  --slow-reader-ms N    close a client that leaves its socket unwritable this long (default ${SLOW_READER_TIMEOUT_MS})`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    upstream: { type: "string" },
    port: { type: "string", default: "8082" },
    host: { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "slow-reader-ms": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.upstream) fail("--upstream is required");
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail("--port must be a port number");
if (Boolean(values["tls-cert"]) !== Boolean(values["tls-key"])) fail("--tls-cert and --tls-key go together");
const slowReaderMs = values["slow-reader-ms"] === undefined ? undefined : Number(values["slow-reader-ms"]);
if (slowReaderMs !== undefined && !(slowReaderMs > 0)) fail("--slow-reader-ms must be positive");

const tls =
  values["tls-cert"] && values["tls-key"]
    ? { cert: readFileSync(values["tls-cert"]), key: readFileSync(values["tls-key"]) }
    : undefined;

try {
  const gateway = await startGateway({
    upstream: values.upstream,
    port,
    host: values.host,
    tls,
    slowReaderMs,
    log: consoleLogger,
  });
  const shown = new URL(values.upstream);
  consoleLogger.info(
    `listening on ${tls ? "tls" : "tcp"}://${values.host ?? "0.0.0.0"}:${gateway.port} → ${shown.origin}${shown.pathname}`,
  );
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      consoleLogger.info(`${signal}: closing ${gateway.connections} connection(s)`);
      void gateway.close().then(() => process.exit(0));
    });
  }
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(`gateway: cannot listen on port ${port}: ${code ?? (error as Error).message}`);
  process.exit(1);
}
