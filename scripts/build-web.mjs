// `npm run build:web`: bundles the web chat page and the admin page (src/web) with esbuild into
// dist/web, which wrangler serves as static assets at `/` and `/admin.html` (wrangler.toml [assets]).
// Several builds may run at once (each `wrangler dev` a test starts runs scripts/dev.mjs): each
// writes into its own temporary directory and then renames every file into place, and a rename
// replaces a file atomically, so wrangler never serves half a file.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const source = join(root, "src/web");
export const outDir = join(root, "dist/web");

/** The admin page: the chat page's HTML with its own title and script, kept out of search engines. */
function adminPage(html) {
  const swaps = [
    ["<title>Edge IM</title>", '<meta name="robots" content="noindex" />\n    <title>Edge IM admin</title>'],
    ['src="/app.js?', 'src="/admin.js?'],
  ];
  for (const [from, to] of swaps) {
    if (!html.includes(from)) throw new Error(`build:web: index.html no longer has ${from}`);
    html = html.replace(from, to);
  }
  return html;
}

export async function buildWeb({ quiet = false } = {}) {
  const started = Date.now();
  mkdirSync(join(root, "dist"), { recursive: true });
  const temp = mkdtempSync(join(root, "dist/.web-"));
  try {
    await build({
      entryPoints: {
        app: join(source, "main.ts"),
        admin: join(source, "admin/main.ts"),
        "app-style": join(source, "styles.css"),
      },
      outdir: temp,
      bundle: true,
      format: "esm",
      target: ["es2022", "chrome111", "safari16.4", "firefox115"],
      minify: true,
      sourcemap: "linked",
      legalComments: "none",
      logLevel: "warning",
      absWorkingDir: root,
    });
    // esbuild names a CSS entry after the entry; the page links app.css.
    renameSync(join(temp, "app-style.css"), join(temp, "app.css"));
    rmSync(join(temp, "app-style.css.map"), { force: true });
    const hash = createHash("sha256");
    for (const name of ["app.js", "admin.js", "app.css"]) hash.update(readFileSync(join(temp, name)));
    const version = hash.digest("hex").slice(0, 12);
    const html = readFileSync(join(source, "index.html"), "utf8").replaceAll("__VERSION__", version);
    writeFileSync(join(temp, "index.html"), html);
    writeFileSync(join(temp, "admin.html"), adminPage(html));
    mkdirSync(outDir, { recursive: true });
    for (const name of readdirSync(temp)) renameSync(join(temp, name), join(outDir, name));
    if (!quiet) console.log(`build:web: dist/web (${version}) in ${Date.now() - started} ms`);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildWeb().catch((error) => {
    console.error("build:web failed:", error.message ?? error);
    process.exit(1);
  });
}
