// The official MCP TypeScript SDK signs in from a bare MCP URL, as an app built on it would.
// Environment: MCP_URL, REDIRECT_URI, TOOL (none: list only); CLIENT_ID (+ CLIENT_SECRET) for a pre-registered
// client, none for dynamic registration. Prints one JSON line: tools, the tool's isError, and
// whether the first connection met the 401 (so discovery started from the bare URL).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const { MCP_URL, REDIRECT_URI, TOOL, CLIENT_ID, CLIENT_SECRET } = process.env;

// A tiny browser: follows redirects, keeps cookies, submits the first form it meets with
// its Allow button (auto-consent), and stops before loading the client's redirect URI.
let consentPages = 0; // HTML pages with a form the browser submitted
async function browse(start) {
  const cookies = new Map();
  let url = start;
  let init = { method: "GET" };
  for (let step = 0; step < 12; step++) {
    if (url.startsWith(REDIRECT_URI)) return url;
    const headers = { ...(init.headers || {}) };
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    init = { method: "GET" };
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      url = new URL(res.headers.get("location"), url).toString();
      continue;
    }
    const html = await res.text();
    const form = html.match(/<form\b([^>]*)>([\s\S]*?)<\/form>/i);
    if (res.status !== 200 || !form) throw new Error(`stopped at ${url} (HTTP ${res.status}): ${html.slice(0, 500)}`);
    consentPages += 1;
    const attr = (tag, name) => (tag.match(new RegExp(`\\b${name}="([^"]*)"`, "i")) || [])[1];
    const unescape = (s) => (s || "").replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    const fields = new URLSearchParams();
    let submitted = false;
    for (const tag of form[2].match(/<(input|button)\b[^>]*>/gi) || []) {
      const type = (attr(tag, "type") || (tag.toLowerCase().startsWith("<button") ? "submit" : "text")).toLowerCase();
      const name = attr(tag, "name");
      if (!name) continue;
      if (type === "submit") {
        // A person consenting clicks "Allow" (else the first button there is).
        const agrees = /^(allow|approve|accept|yes)$/i.test(attr(tag, "value") || "");
        if (!submitted || (agrees && submitted !== "agreed")) {
          fields.set(unescape(name), unescape(attr(tag, "value")));
          submitted = agrees ? "agreed" : "first";
        }
      } else fields.set(unescape(name), unescape(attr(tag, "value")));
    }
    url = new URL(unescape(attr(form[1], "action")) || url, url).toString();
    if ((attr(form[1], "method") || "get").toLowerCase() === "post") {
      init = { method: "POST", body: fields.toString(), headers: { "content-type": "application/x-www-form-urlencoded" } };
    } else {
      const next = new URL(url);
      for (const [k, v] of fields) next.searchParams.set(k, v);
      url = next.toString();
    }
  }
  throw new Error("more than 12 steps");
}

let info = CLIENT_ID ? { client_id: CLIENT_ID, ...(CLIENT_SECRET ? { client_secret: CLIENT_SECRET } : {}) } : undefined;
let tokens;
let verifier;
let landed;
const provider = {
  get redirectUrl() { return REDIRECT_URI; },
  get clientMetadata() {
    return {
      client_name: "MCP TypeScript SDK (test)",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: CLIENT_SECRET ? "client_secret_post" : "none",
    };
  },
  clientInformation() { return info; },
  saveClientInformation(saved) { info = saved; },
  tokens() { return tokens; },
  saveTokens(saved) { tokens = saved; },
  async redirectToAuthorization(url) { landed = await browse(url.toString()); },
  saveCodeVerifier(v) { verifier = v; },
  codeVerifier() { return verifier; },
};

const connect = async () => {
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });
  const client = new Client({ name: "ts-sdk-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
};

let unauthorizedFirst = false;
let session;
try {
  session = await connect();
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
  unauthorizedFirst = true;
  const code = new URL(landed).searchParams.get("code");
  if (!code) throw new Error(`no code in ${landed}`);
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });
  await transport.finishAuth(code);
  session = await connect();
}
const { tools } = await session.client.listTools();
const result = TOOL ? await session.client.callTool({ name: TOOL, arguments: {} }) : undefined;
await session.client.close();
console.log(JSON.stringify({
  unauthorizedFirst,
  consentPages,
  registered: info?.client_id,
  tools: tools.map((t) => t.name),
  isError: result ? Boolean(result.isError) : null,
  text: result?.content?.[0]?.text?.slice(0, 300),
  accessToken: tokens?.access_token,
}));
