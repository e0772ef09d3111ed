// Validate an AsyncAPI document with the official parser: argv[2] is its path.
// One JSON line out: {ok, errors: [{code, message, path}]} (errors are severity 0).
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");

(async () => {
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(fs.readFileSync(process.argv[2], "utf8"));
  const errors = diagnostics.filter((d) => d.severity === 0)
    .map((d) => ({ code: d.code, message: d.message, path: d.path.join(".") }));
  const names = document ? document.messages().all().map((m) => m.name()) : [];
  process.stdout.write(JSON.stringify({ ok: !!document && errors.length === 0, errors, names }) + "\n");
})();
