/** Tests run from the compiled output (`npm test` builds first), so they exercise what ships. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  setupFiles: ['<rootDir>/dist/test/setup-state-dir.js'],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/scripts/totals-reporter.js'],
};
