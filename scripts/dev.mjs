// `npm run dev [-- <wrangler dev options>]`: the whole system on localhost, no Cloudflare account.
// 1. Writes .dev.vars with a random JWT_SECRET and ADMIN_TOKEN when it lacks them (the file is
//    git-ignored; the values are never printed).
// 2. Checks the settings wrangler dev will give the worker (wrangler.toml [vars], .dev.vars, --var)
//    with the server's own rules (src/config/settings.ts), and stops at once if one is invalid.
// 3. Applies the D1 migrations to every local D1 database `wrangler dev` will use: the main one and
//    each history shard (one schema everywhere, docs/ARCHITECTURE.md, "History shards").
// 4. Builds the web chat page (src/web → dist/web, served at `/`).
// 5. Starts the TCP gateway for the SDK's default transport (src/gateway) on TCP_PORT (default 8082),
//    on wrangler's --ip, bridged to wrangler's /ws; it listens before wrangler serves, and a port
//    that cannot be bound fails the whole command.
// 6. Runs `wrangler dev` with the options given (e.g. --port 8787 --ip 127.0.0.1).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { unstable_getVarsForDev, unstable_readConfig } from "wrangler";
import { checkSettings, describeProblemsWithValues } from "../src/config/settings.ts";
import { buildWeb } from "./build-web.mjs";

const root = resolve(import.meta.dirname, "..");
// Run wrangler on this Node (the `node` devDependency when started by npm), not whatever is on PATH.
const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
const args = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

/**
 * Appends a random value for each secret .dev.vars lacks: the JWT key and the admin API's
 * credential. Values are never printed; an operator reads the admin token from the file.
 */
function ensureDevVars() {
  const file = join(root, ".dev.vars");
  let text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const written = [];
  for (const name of ["JWT_SECRET", "ADMIN_TOKEN"]) {
    if (new RegExp(`^${name}=.+$`, "m").test(text)) continue;
    if (text && !text.endsWith("\n")) text += "\n";
    text += `${name}=${randomBytes(32).toString("hex")}\n`;
    written.push(name);
  }
  if (written.length === 0) return;
  writeFileSync(file, text, { mode: 0o600 });
  console.log(`dev: wrote a random ${written.join(" and ")} to .dev.vars`);
}

/** The value of a wrangler option given as `--name V` or `--name=V`. */
function option(name) {
  // wrangler's short forms too (`-c`, `-e`): the migrations must reach the databases wrangler dev uses.
  const names = [name, ...(SHORT_FORMS[name] ? [SHORT_FORMS[name]] : [])];
  for (const form of names) {
    const i = args.findIndex((a) => a === form || a.startsWith(`${form}=`));
    if (i >= 0) return args[i].startsWith(`${form}=`) ? args[i].slice(form.length + 1) : args[i + 1];
  }
  return undefined;
}

/** wrangler dev's one-letter aliases of the options read here. */
const SHORT_FORMS = { "--config": "-c", "--env": "-e" };

/** Every `NAME:VALUE` given with `--var` (several may follow one `--var`, as wrangler reads them). */
function varOptions() {
  const pairs = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith("--var=")) pairs.push(args[i].slice("--var=".length));
    else if (args[i] === "--var")
      while (args[i + 1] !== undefined && !args[i + 1].startsWith("-")) pairs.push(args[++i]);
  }
  return pairs.map((pair) => [pair.slice(0, pair.indexOf(":")), pair.slice(pair.indexOf(":") + 1)]);
}

/**
 * Checks what `wrangler dev` will give the worker ([vars], then .dev.vars, then --var) with the
 * worker's own rules; an invalid value stops the command before anything starts.
 */
function checkDevSettings(config) {
  const environment = option("--env");
  const bindings = unstable_getVarsForDev(
    config.configPath,
    undefined,
    config.vars,
    environment,
    true,
    config.secrets,
  );
  const vars = Object.fromEntries(Object.entries(bindings).map(([name, binding]) => [name, binding.value]));
  for (const [name, value] of varOptions()) vars[name] = value;
  // HISTORY_SHARDS must name D1 bindings: those the configuration declares.
  const check = checkSettings(vars, new Set(d1Bindings(config)));
  if (check.ok) return;
  console.error(`dev: invalid settings (wrangler.toml [vars], .dev.vars or --var), not starting:`);
  for (const problem of check.problems) console.error(`  ${describeProblemsWithValues([problem])}`);
  process.exit(1);
}

/** The configuration `wrangler dev` will run with (`--config`, `--env`). */
function readDevConfig() {
  return unstable_readConfig({
    config: option("--config") ?? join(root, "wrangler.toml"),
    env: option("--env"),
  });
}

/** Every D1 binding the configuration declares (DB and the history shards). */
function d1Bindings(config) {
  return config.d1_databases.map((database) => database.binding);
}

/** Starts the gateway and resolves once it listens; exits the whole command when it cannot. */
function startGateway() {
  const ip = option("--ip") ?? "localhost";
  const port = option("--port") ?? "8787";
  const tcpPort = process.env.TCP_PORT ?? "8082";
  // The gateway dials wrangler: an "any" address is reached on loopback; IPv6 needs brackets.
  const dialHost = ip === "0.0.0.0" ? "127.0.0.1" : ip === "::" ? "::1" : ip;
  const upstream = `ws://${dialHost.includes(":") ? `[${dialHost}]` : dialHost}:${port}/ws`;
  const slow = process.env.GATEWAY_SLOW_READER_MS;
  const gateway = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(root, "src/gateway/cli.ts"),
      "--upstream",
      upstream,
      "--port",
      tcpPort,
      "--host",
      ip,
      ...(slow ? ["--slow-reader-ms", slow] : []),
    ],
    { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve) => {
    let listening = false;
    gateway.stdout.on("data", (chunk) => {
      process.stdout.write(chunk);
      if (!listening && String(chunk).includes("listening on")) {
        listening = true;
        resolve(gateway);
      }
    });
    gateway.on("exit", (code, signal) => {
      if (stopping) {
        if (!dev) process.exit(1);
        return;
      }
      console.error(
        listening
          ? `dev: the TCP gateway stopped (${signal ?? code}); stopping wrangler`
          : `dev: the TCP gateway could not listen on ${ip}:${tcpPort} (set TCP_PORT to move it)`,
      );
      stopAll("SIGTERM");
      process.exit(1);
    });
  });
}

/** `--persist-to DIR` (or `--persist-to=DIR`) must reach the migration step too. */
function persistArgs() {
  const i = args.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
  if (i < 0) return [];
  return args[i].includes("=") ? [args[i]] : [args[i], args[i + 1]];
}

ensureDevVars();
const config = readDevConfig();
checkDevSettings(config);
const configArgs = ["--config", config.configPath, ...(option("--env") ? ["--env", option("--env")] : [])];
for (const binding of d1Bindings(config)) {
  const migrate = spawnSync(
    process.execPath,
    [wrangler, "d1", "migrations", "apply", binding, "--local", ...configArgs, ...persistArgs()],
    {
      cwd: root,
      env: { ...env, CI: "true" },
      stdio: "inherit",
    },
  );
  if (migrate.status !== 0) {
    console.error(`dev: applying D1 migrations to ${binding} failed`);
    process.exit(migrate.status ?? 1);
  }
}
try {
  await buildWeb();
} catch (error) {
  console.error("dev: building the web page failed:", error.message ?? error);
  process.exit(1);
}
let stopping = false;
let dev = null;
let gateway = null;
function stopAll(signal) {
  stopping = true;
  dev?.kill(signal);
  gateway?.kill(signal);
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stopAll(signal));
gateway = await startGateway();
dev = spawn(process.execPath, [wrangler, "dev", ...args], { cwd: root, env, stdio: "inherit" });
dev.on("exit", (code, signal) => {
  stopping = true;
  // Exit once the gateway has closed its connections (it stops on SIGTERM within seconds).
  if (gateway.exitCode === null && gateway.signalCode === null) {
    gateway.once("exit", () => process.exit(code ?? (signal ? 1 : 0)));
    gateway.kill("SIGTERM");
  } else process.exit(code ?? (signal ? 1 : 0));
});
