// The listening side: a TCP (or, given a certificate and key, TLS) server that hands each accepted
// socket to a GatewayConnection, caps how many it holds, and shuts down both sides of each.
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { GatewayConnection } from "./connection.ts";
import { MAX_CONNECTIONS, SHUTDOWN_GRACE_MS, SLOW_READER_TIMEOUT_MS } from "./limits.ts";
import { consoleLogger, type Logger } from "./log.ts";

export interface GatewayOptions {
  /** The worker's WebSocket endpoint: ws://127.0.0.1:8787/ws locally, wss://host/ws in production. */
  upstream: string;
  port: number;
  host?: string;
  /** PEM certificate chain and private key: the gateway then speaks TLS (tcps:// and tls:// clients). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  maxConnections?: number;
  slowReaderMs?: number;
  log?: Logger;
}

export interface Gateway {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly connections: number;
  /** Stops accepting, closes every connection on both sides, and settles when all are gone. */
  close(): Promise<void>;
}

/** Listens, then resolves; rejects when the port cannot be bound. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== "ws:" && upstream.protocol !== "wss:")
    throw new Error(`--upstream must be a ws:// or wss:// URL`);
  const log = options.log ?? consoleLogger;
  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  const connectionOptions = {
    upstream: upstream.toString(),
    slowReaderMs: options.slowReaderMs ?? SLOW_READER_TIMEOUT_MS,
    log,
  };
  const live = new Set<GatewayConnection>();
  let closing = false;

  const accept = (socket: Socket) => {
    if (closing || live.size >= maxConnections) {
      socket.destroy();
      return;
    }
    const connection = new GatewayConnection(socket, connectionOptions);
    live.add(connection);
    void connection.closed.then(() => live.delete(connection));
  };
  const server: Server = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, accept)
    : createTcpServer(accept);
  // A failed TLS handshake is that client's problem only.
  server.on("tlsClientError", () => {});

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error: NodeJS.ErrnoException) =>
    log.warn(`server error: ${error.code ?? error.message}`),
  );
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  return {
    port,
    get connections() {
      return live.size;
    },
    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of live) connection.shutdown();
      const all = Promise.all([...live].map((c) => c.closed));
      const grace = setTimeout(() => {
        for (const connection of live) connection.abort("shutdown grace period over");
      }, SHUTDOWN_GRACE_MS);
      await all;
      clearTimeout(grace);
      await stopped;
    },
  };
}
