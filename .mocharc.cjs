// Mocha's configuration. The whole suite runs when no test file is named
// (`npm test`); `npx mocha dist/tests/unit/x.test.js` runs just that file, since mocha would
// otherwise add a configured spec to the files named on its command line.
const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && /\.test\.js$/.test(arg));
module.exports = {
  ...(named ? {} : { spec: ['dist/tests/**/*.test.js'] }),
  timeout: 30000,
  'node-option': ['enable-source-maps'],
  reporter: 'spec',
};
