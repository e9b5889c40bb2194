// Node-RED loads each node's editor (.html) and message catalog (locales/) from beside its .js, so the
// build copies them from nodes/src/ into nodes/dist/, and removes what no longer has a source there
// (a renamed node would otherwise still load from dist/).
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', 'nodes');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

const isAsset = (rel) => rel.endsWith('.html') || rel.split(path.sep)[0] === 'locales';

function walk(dir, base = dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [path.relative(base, full)];
  });
}

function sourceOf(rel) {
  if (isAsset(rel)) return rel;
  const m = /^(.*)\.(js|js\.map|d\.ts)$/.exec(rel);
  return m ? `${m[1]}.ts` : null;
}

for (const rel of walk(dist)) {
  const from = sourceOf(rel);
  if (from === null || !fs.existsSync(path.join(src, from))) fs.rmSync(path.join(dist, rel));
}
function removeEmptyDirs(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeEmptyDirs(path.join(dir, e.name));
  if (dir !== dist && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}
if (fs.existsSync(dist)) removeEmptyDirs(dist);

for (const rel of walk(src).filter(isAsset)) {
  fs.mkdirSync(path.dirname(path.join(dist, rel)), { recursive: true });
  fs.copyFileSync(path.join(src, rel), path.join(dist, rel));
}
