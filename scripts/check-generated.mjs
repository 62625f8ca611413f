// Fails when generated code is stale: the protobuf codec (from proto/im.proto) or the Env types
// (from wrangler.toml). Both are regenerated into temporary files and compared with the committed ones.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
// Run wrangler on this Node (the `node` devDependency when started by npm), not whatever is on PATH.
const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
let stale = false;

try {
  execFileSync(process.execPath, [join(root, "scripts/gen-proto.mjs"), "--check"], { stdio: "inherit" });
} catch {
  stale = true;
}

// Generated beside the real file so its relative imports read the same.
const committed = join(root, "src/env.d.ts");
const fresh = join(root, "src/.env.check.d.ts");
try {
  execFileSync(process.execPath, [wrangler, "types", fresh, "--include-runtime=false"], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: "pipe",
  });
  // The header names the output path; the rest must match exactly.
  const body = (file) => readFileSync(file, "utf8").split("\n").slice(2).join("\n");
  if (body(fresh) !== body(committed)) {
    console.error("stale Env types in src/env.d.ts; run npm run gen:types");
    stale = true;
  } else {
    console.log("Env types are up to date");
  }
} finally {
  rmSync(fresh, { force: true });
}
process.exit(stale ? 1 : 0);
