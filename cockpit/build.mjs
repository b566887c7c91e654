// Bundles src/ into dist/ (index.html, manifest.json, index.js, index.css) with esbuild: `npm run build`.
// PatternFly's own fonts and theme backgrounds are not bundled: Cockpit serves the same Red Hat fonts from /cockpit/static/fonts.
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const outdir = process.env.OUTDIR || path.join(here, "dist");

const cockpitFonts = {
    name: "cockpit-fonts",
    setup(build) {
        build.onResolve({ filter: /\.(woff2?|ttf|otf|eot)$/ }, args => {
            const base = path.basename(args.path);
            const family = /RedHatDisplay/.test(base) ? "RedHatDisplay" : /RedHatMono/.test(base) ? "RedHatMono" : "RedHatText";
            const style = /Italic/.test(base) ? "Italic" : "Regular";
            return { path: `../../static/fonts/${family}-${style}.woff2`, external: true };
        });
        // The backgrounds of PatternFly's "glass" themes (1.2 MB of SVG): the page never turns those themes on.
        build.onResolve({ filter: /assets\/images\/.*\.svg$/ }, args => ({ path: args.path, external: true }));
    },
};

fs.rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
    entryPoints: { index: path.join(here, "src/index.jsx") },
    bundle: true,
    minify: true,
    outdir,
    format: "iife",
    target: ["es2020"],
    jsx: "automatic",
    loader: { ".js": "jsx", ".svg": "dataurl", ".png": "dataurl" },
    legalComments: "none",
    plugins: [cockpitFonts],
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
});
for (const file of ["index.html", "manifest.json"]) {
    fs.copyFileSync(path.join(here, file), path.join(outdir, file));
}
for (const file of fs.readdirSync(outdir)) {
    console.log(`${file}\t${fs.statSync(path.join(outdir, file)).size}`);
}
