// Removes build output, each directory given, so files deleted from a src/ never linger in its dist/
// (tests run from dist/; Node-RED and Homebridge load nodes/dist/ and homebridge/dist/).
const fs = require('node:fs');
for (const dir of process.argv.slice(2)) fs.rmSync(dir, { recursive: true, force: true });
