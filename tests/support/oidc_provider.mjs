// A real OpenID Connect provider for the tests: the certified `oidc-provider` package
// (tests/node), run under node on a loopback port. Started by tests/support/oidc.py with
// one JSON argument: {port, client_id, client_secret, redirect_uri, accounts}, where
// accounts maps a login name (the `sub`) to its claims (email, name, ...).
//
// Sign-in uses the package's bundled interaction pages (a login form, then a consent
// form); the code flow, PKCE (required here), the token endpoint, the signed ID tokens,
// the JWKS and the userinfo endpoint are the package's own. Prints "listening <issuer>"
// once it serves.

import { generateKeyPairSync } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// The package is installed in tests/node (the current directory), not beside this script.
const require = createRequire(join(process.cwd(), "package.json"));
const { default: Provider } = await import(pathToFileURL(require.resolve("oidc-provider")).href);

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test-rs256", alg: "RS256", use: "sig" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: [config.redirect_uri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  pkce: { methods: ["S256"], required: () => true },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
  },
  async findAccount(ctx, id) {
    const claims = config.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: ["trackrecord-tests-only"] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
provider.listen(config.port, "127.0.0.1", () => {
  console.log(`listening ${issuer}`);
});
