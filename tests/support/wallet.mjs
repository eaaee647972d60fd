// An independent wallet for the tests (docs/wallet.md): OpenWallet Foundation's @sd-jwt
// libraries under node, never trackrecord's Python code.
//
//   node tests/support/wallet.mjs '<openid-credential-offer://...>' <skill>
//   node tests/support/wallet.mjs --recheck <issuer> <credential> '<holder private JWK>'
//
// Runs the OpenID4VCI 1.0 pre-authorized code flow over HTTP against the issuer the offer
// names, verifies every credential it receives with @sd-jwt/sd-jwt-vc (the issuer key from
// /.well-known/jwt-vc-issuer), then presents the summary credential disclosing only the
// grades of <skill>, with key binding, to the service's verifier; and makes the
// presentations a verifier must refuse. Prints one JSON report on stdout. With --recheck,
// verifies one stored credential again (its status list fetched anew) and presents it.
import crypto from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { SDJwtVcInstance } = require("@sd-jwt/sd-jwt-vc");
const { ES256, digest, generateSalt } = require("@sd-jwt/crypto-nodejs");

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const hasher = (data, alg) => digest(data, alg);

async function http(method, url, { json, form, token } = {}) {
  const headers = {};
  let body;
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function jws(header, payload, sign) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${await sign(input)}`;
}

// The issuer's Ed25519 key (RFC 8037 JWK) as a @sd-jwt verifier callback.
function ed25519Verifier(jwk) {
  const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
  return async (data, signature) =>
    crypto.verify(null, Buffer.from(data), key, Buffer.from(signature, "base64url"));
}

// A key-binding JWT made by hand, so that a tampered presentation can still carry a valid one.
async function withKeyBinding(sdJwt, { aud, nonce, iat }, sign) {
  const sdHash = b64url(crypto.createHash("sha256").update(sdJwt).digest());
  const kb = await jws({ alg: "ES256", typ: "kb+jwt" }, { iat, aud, nonce, sd_hash: sdHash }, sign);
  return sdJwt + kb;
}

const now = () => Math.floor(Date.now() / 1000);

if (process.argv[2] === "--recheck") {
  const [issuer, credential, holderJwk] = process.argv.slice(3);
  const issuerKeys = (await http("GET", `${issuer}/.well-known/jwt-vc-issuer`)).body.jwks.keys;
  const wallet = new SDJwtVcInstance({
    hasher,
    hashAlg: "sha-256",
    saltGenerator: generateSalt,
    verifier: ed25519Verifier(issuerKeys[0]),
    kbSigner: await ES256.getSigner(JSON.parse(holderJwk)),
    kbSignAlg: "ES256",
  });
  const out = {};
  try {
    await wallet.verify(credential);
    out.library = "valid";
  } catch (error) {
    out.library = String(error.message || error);
  }
  const request = (await http("POST", `${issuer}/presentations/requests`)).body;
  const presentation = await wallet.present(credential, {}, {
    kb: { payload: { aud: request.audience, nonce: request.nonce, iat: now() } },
  });
  const answer = await http("POST", `${issuer}/presentations/verify`, {
    json: { presentation, nonce: request.nonce },
  });
  out.verifier = { status: answer.status, body: answer.body };
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const [offerLink, skill] = process.argv.slice(2);
const report = { credentials: {}, library_verified: 0, refusals: {} };
const offer = JSON.parse(new URL(offerLink).searchParams.get("credential_offer"));
const issuer = offer.credential_issuer;
const metadata = (await http("GET", `${issuer}/.well-known/openid-credential-issuer`)).body;
const authServer = (await http("GET", `${issuer}/.well-known/oauth-authorization-server`)).body;
const issuerKeys = (await http("GET", `${issuer}/.well-known/jwt-vc-issuer`)).body.jwks.keys;
report.configurations = Object.keys(metadata.credential_configurations_supported).sort();

// 1. the pre-authorized code for an access token; the code works once only
const grant = offer.grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"];
const tokenForm = {
  grant_type: "urn:ietf:params:oauth:grant-type:pre-authorized_code",
  "pre-authorized_code": grant["pre-authorized_code"],
};
const tokenResponse = await http("POST", authServer.token_endpoint, { form: tokenForm });
if (tokenResponse.status !== 200) throw new Error(`token: ${JSON.stringify(tokenResponse)}`);
const token = tokenResponse.body.access_token;
report.refusals.replayed_code = (await http("POST", authServer.token_endpoint, { form: tokenForm }))
  .body.error;

// 2. the holder key and one credential per identifier, each with a proof of possession
const holder = await ES256.generateKeyPair();
const holderSign = await ES256.getSigner(holder.privateKey);
report.holder = holder.privateKey; // for --recheck: this wallet is a test's
for (const detail of tokenResponse.body.authorization_details) {
  for (const identifier of detail.credential_identifiers) {
    const cNonce = (await http("POST", metadata.nonce_endpoint)).body.c_nonce;
    const proof = await jws(
      { alg: "ES256", typ: "openid4vci-proof+jwt", jwk: holder.publicKey },
      { aud: issuer, iat: Math.floor(Date.now() / 1000), nonce: cNonce },
      holderSign,
    );
    const answer = await http("POST", metadata.credential_endpoint, {
      token,
      json: { credential_identifier: identifier, proofs: { jwt: [proof] } },
    });
    if (answer.status !== 200) throw new Error(`credential: ${JSON.stringify(answer)}`);
    report.credentials[identifier] = answer.body.credentials[0].credential;
    // the c_nonce is single use
    const again = await http("POST", metadata.credential_endpoint, {
      token,
      json: { credential_identifier: identifier, proofs: { jwt: [proof] } },
    });
    report.refusals.replayed_c_nonce = again.body.error;
  }
}

// 3. the wallet's own library checks what it received
const wallet = new SDJwtVcInstance({
  hasher,
  hashAlg: "sha-256",
  saltGenerator: generateSalt,
  verifier: ed25519Verifier(issuerKeys[0]),
  kbSigner: holderSign,
  kbSignAlg: "ES256",
});
const claims = {};
for (const [identifier, credential] of Object.entries(report.credentials)) {
  const { payload } = await wallet.verify(credential);
  if (payload.iss !== issuer || JSON.stringify(payload.cnf.jwk) === undefined) {
    throw new Error(`unexpected credential ${identifier}`);
  }
  claims[identifier] = payload;
  report.library_verified += 1;
}
report.claims = claims;

// 4. present just the grades of one skill to the service's verifier
const summaryId = Object.keys(report.credentials).find((id) => id.startsWith("summary:"));
const summary = report.credentials[summaryId];
const ask = async () => (await http("POST", `${issuer}/presentations/requests`)).body;
const verify = async (presentation, nonce, inclusion = false) =>
  http("POST", `${issuer}/presentations/verify`, { json: { presentation, nonce, inclusion } });
const frame = { skills: { [skill]: true } };

let request = await ask();
const presentation = await wallet.present(summary, frame, {
  kb: { payload: { aud: request.audience, nonce: request.nonce, iat: now() } },
});
const accepted = await verify(presentation, request.nonce);
report.presentation = { text: presentation, status: accepted.status, result: accepted.body };
report.refusals.replayed_nonce = (await verify(presentation, request.nonce)).body.code;

// a contribution with its ledger evidence, checked against the log
const contributionId = Object.keys(report.credentials).find((id) => id.startsWith("contribution:"));
request = await ask();
const withEvidence = await wallet.present(
  report.credentials[contributionId],
  { evidence: { 0: true, 1: true }, contribution: { skills: { 0: true } } },
  { kb: { payload: { aud: request.audience, nonce: request.nonce, iat: now() } } },
);
const evidenced = await verify(withEvidence, request.nonce, true);
report.evidence = { status: evidenced.status, result: evidenced.body };

// 5. what the verifier must refuse
const disclosed = presentation.split("~").slice(0, -1).join("~") + "~";
const [jwt, disclosure] = disclosed.split("~");
const [salt, name, value] = JSON.parse(Buffer.from(disclosure, "base64url").toString());
value.grades = value.grades.map(() => 5);
const tampered = `${jwt}~${b64url(JSON.stringify([salt, name, value]))}~`;
request = await ask();
const kb = (r, changes = {}) => ({ aud: r.audience, nonce: r.nonce, iat: now(), ...changes });
const refuse = async (label, text, nonce) => {
  const answer = await verify(text, nonce);
  report.refusals[label] = answer.status === 422 || answer.status === 400 ? answer.body.code : null;
};
await refuse("tampered_disclosure", await withKeyBinding(tampered, kb(request), holderSign), request.nonce);
request = await ask();
await refuse(
  "wrong_nonce",
  await withKeyBinding(disclosed, kb(request, { nonce: "a-nonce-of-another-request" }), holderSign),
  request.nonce,
);
request = await ask();
await refuse(
  "wrong_audience",
  await withKeyBinding(disclosed, kb(request, { aud: "https://another-employer.example" }), holderSign),
  request.nonce,
);
request = await ask();
await refuse(
  "expired_presentation",
  await withKeyBinding(disclosed, kb(request, { iat: now() - 3600 }), holderSign),
  request.nonce,
);
// a credential of the same type, signed by a key that is not this ledger's
const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
const forger = new SDJwtVcInstance({
  hasher,
  hashAlg: "sha-256",
  saltGenerator: generateSalt,
  signer: async (data) => b64url(crypto.sign(null, Buffer.from(data), privateKey)),
  signAlg: "EdDSA",
  verifier: ed25519Verifier(publicKey.export({ format: "jwk" })),
  kbSigner: holderSign,
  kbSignAlg: "ES256",
});
const forged = await forger.issue(
  { ...claims[summaryId], skills: { [skill]: { contributions: 9, grades: [5, 5, 5] } } },
  { skills: { _sd: [skill] } },
);
request = await ask();
await refuse(
  "foreign_issuer",
  await forger.present(forged, frame, { kb: { payload: kb(request) } }),
  request.nonce,
);
process.stdout.write(JSON.stringify(report));
