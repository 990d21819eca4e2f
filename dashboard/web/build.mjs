// Builds the page into ../static: one JS and one CSS bundle with content-hashed names (cached for
// a year by the server), index.html pointing at them, and a gzip copy of every text file.
// URBANPULSE_PAGE_DEBUG=1 npm run build leaves the bundle unminified (for profiling in a browser).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";

const here = new URL(".", import.meta.url).pathname;
const out = join(here, "..", "static");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true, minify: process.env.URBANPULSE_PAGE_DEBUG !== "1", format: "esm", target: ["es2022"], outdir: out,
  entryNames: "[name]-[hash]", assetNames: "[name]-[hash]", loader: { ".png": "file", ".svg": "file" },
  metafile: true, legalComments: "linked", logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const js = outputs.find((name) => name.startsWith("main-") && name.endsWith(".js"));
const css = outputs.find((name) => name.startsWith("main-") && name.endsWith(".css"));
if (!js || !css) throw new Error(`the build made no main bundle: ${outputs.join(", ")}`);

const index = readFileSync(join(here, "src", "index.html"), "utf8").replace("{{js}}", js).replace("{{css}}", css);
writeFileSync(join(out, "index.html"), index);
copyFileSync(join(here, "src", "favicon.svg"), join(out, "favicon.svg"));

const packable = /\.(js|css|html|svg|map|txt|json)$/;
let total = 0;
for (const name of readdirSync(out)) {
  const path = join(out, name);
  if (!packable.test(name) || !statSync(path).isFile()) continue;
  const packed = gzipSync(readFileSync(path), { level: 9 });
  writeFileSync(`${path}.gz`, packed);
  if (!name.endsWith(".map")) total += packed.length;
}
console.log(`dashboard page built into ${out}: ${js}, ${css} (${(total / 1024).toFixed(0)} KiB gzipped)`);
