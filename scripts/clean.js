// Removes build output so files deleted from src/ never linger in dist/ (tests run from dist/).
const fs = require('node:fs');
for (const dir of process.argv.slice(2)) fs.rmSync(dir, { recursive: true, force: true });
