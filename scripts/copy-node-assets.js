// Node-RED loads each node's editor (.html) and message catalog (locales/) from beside its .js, so the
// build copies them from nodes/src/ into nodes/dist/. Stale output is not this script's business: the
// build clears nodes/dist/ first (scripts/clean.js).
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', 'nodes');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

const isAsset = (rel) => rel.endsWith('.html') || rel.split(path.sep)[0] === 'locales';

function walk(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [path.relative(base, full)];
  });
}

for (const rel of walk(src).filter(isAsset)) {
  fs.mkdirSync(path.dirname(path.join(dist, rel)), { recursive: true });
  fs.copyFileSync(path.join(src, rel), path.join(dist, rel));
}
