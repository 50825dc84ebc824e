// Writes tests/lark_fake/lark_definitions.json: Lark's own request definitions (method, path,
// params / data / path JSON Schemas) for the endpoints lark_mcp_server calls, taken from the
// generated endpoint definitions in @larksuiteoapi/lark-mcp (the official Lark MCP server,
// generated from Lark's OpenAPI metadata). Run after `make bench` installed it, with the
// endpoints the server's code calls (tests/server/generated.py reads them from the source):
//   node tests/lark_fake/extract_definitions.mjs bench/.work/lark-mcp "$(.venv/bin/python -c \
//     'import json; from pathlib import Path; from tests.server.generated import code_routes; \
//      print(json.dumps(sorted(set().union(*code_routes(Path("lark_mcp_server")).values()))))')" \
//     > tests/lark_fake/lark_definitions.json
import { createRequire } from "node:module";
import path from "node:path";

const root = path.resolve(process.argv[2] || "bench/.work/lark-mcp");
const require = createRequire(path.join(root, "package.json"));
const { z } = require("zod");
const gen = require("@larksuiteoapi/lark-mcp/dist/mcp-tool/tools/en/gen-tools/index.js");
const version = require("@larksuiteoapi/lark-mcp/package.json").version;

// Descriptions are prose for people; the check needs names, types, enums and `required`.
function bare(node) {
  if (Array.isArray(node)) return node.map(bare);
  if (node && typeof node === "object") {
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "description" && typeof value === "string") continue;
      out[key] = key === "properties" ? properties(value) : bare(value);
    }
    return out;
  }
  return node;
}

// Under "properties" the keys are field names (a field may be called "description").
function properties(node) {
  const out = {};
  for (const [name, schema] of Object.entries(node)) out[name] = bare(schema);
  return out;
}

const wanted = JSON.parse(process.argv[3] || "[]");
const all = gen.GenTools ?? Object.values(gen).flat();
const out = { source: `@larksuiteoapi/lark-mcp@${version} dist/mcp-tool/tools/en/gen-tools`, endpoints: {} };
for (const tool of all) {
  if (!tool || !tool.path || !tool.httpMethod) continue;
  const key = `${tool.httpMethod} ${tool.path.replace(/:[a-z_A-Z]+/g, "{}")}`;
  if (wanted.length && !wanted.includes(key)) continue;
  const entry = { name: tool.name, accessTokens: tool.accessTokens };
  for (const part of ["params", "data", "path"]) {
    if (tool.schema && tool.schema[part]) {
      const schema = z.toJSONSchema(tool.schema[part], { unrepresentable: "any" });
      delete schema.$schema;
      entry[part] = bare(schema);
    }
  }
  out.endpoints[key] = entry;
}
process.stdout.write(JSON.stringify(out) + "\n");
