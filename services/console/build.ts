/**
 * Builds the admin console into services/console/dist: hashed JS/CSS under assets/ and an
 * index.html that references them. The gateway serves the folder at /console; nothing here is a
 * dev server. The build goes to a temporary folder first and replaces dist/ only when complete,
 * so a failed build never leaves a half-written dist/ that looks valid.
 *
 *   node --import tsx services/console/build.ts [--base /console/] [--dev]
 */
import { build } from "esbuild";
import { mkdir, rm, rename, writeFile, readFile } from "node:fs/promises";
import { dirname, join, relative, basename } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export interface ConsoleBuildOptions {
  /** URL path the gateway serves the console under; must start and end with "/". */
  basePath?: string;
  /** Skip minification (readable stack traces while developing). */
  dev?: boolean;
  outDir?: string;
}

export interface ConsoleBuildResult {
  outDir: string;
  files: string[];
}

export async function buildConsole(options: ConsoleBuildOptions = {}): Promise<ConsoleBuildResult> {
  const basePath = options.basePath ?? "/console/";
  if (!basePath.startsWith("/") || !basePath.endsWith("/")) {
    throw new Error(`console build: basePath must start and end with "/", got ${JSON.stringify(basePath)}`);
  }
  const outDir = options.outDir ?? join(here, "dist");
  const tmpDir = `${outDir}.tmp-${process.pid}`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(join(tmpDir, "assets"), { recursive: true });
  try {
    const result = await build({
      entryPoints: { console: join(here, "src", "main.ts") },
      bundle: true,
      format: "esm",
      platform: "browser",
      target: ["es2022", "chrome110", "firefox110", "safari16"],
      outdir: join(tmpDir, "assets"),
      entryNames: "[name]-[hash]",
      assetNames: "[name]-[hash]",
      minify: !options.dev,
      sourcemap: "linked",
      metafile: true,
      logLevel: "warning",
      legalComments: "linked",
      define: { "process.env.NODE_ENV": options.dev ? '"development"' : '"production"' },
    });
    const outputs = Object.keys(result.metafile.outputs);
    const js = outputs.find((f) => f.endsWith(".js"));
    const css = outputs.find((f) => f.endsWith(".css"));
    if (!js || !css) throw new Error(`console build: expected a .js and a .css output, got ${outputs.join(", ")}`);
    const html = indexHtml(basePath, basename(js), basename(css));
    await writeFile(join(tmpDir, "index.html"), html);
    await rm(outDir, { recursive: true, force: true });
    await rename(tmpDir, outDir);
    const files = ["index.html", ...outputs.map((f) => relative(tmpDir, f))];
    return { outDir, files };
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
}

function indexHtml(basePath: string, jsFile: string, cssFile: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GK-MVLP console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${basePath}assets/${cssFile}">
<script type="module" src="${basePath}assets/${jsFile}"></script>
</head>
<body>
<noscript>The console needs JavaScript.</noscript>
<div id="app" data-base-path="${basePath}"></div>
</body>
</html>
`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const baseIdx = args.indexOf("--base");
  const basePath = baseIdx >= 0 ? args[baseIdx + 1] : undefined;
  const started = Date.now();
  const { outDir, files } = await buildConsole({ basePath, dev: args.includes("--dev") });
  const sizes = await Promise.all(
    files.filter((f) => !f.endsWith(".map")).map(async (f) => `${f} (${(await readFile(join(outDir, f))).length} B)`),
  );
  console.log(`console built in ${Date.now() - started} ms → ${relative(process.cwd(), outDir)}\n  ${sizes.join("\n  ")}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
