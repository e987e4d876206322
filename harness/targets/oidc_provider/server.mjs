// The fapi-harness reference target: panva's oidc-provider configured as a FAPI 2.0
// Security Profile authorization server (and userinfo as its protected resource).
//
// Usage: node server.mjs <settings.json>
// The settings file is written by harness/targets/reference.py: issuer, port, TLS file paths,
// the static clients and the file that receives the server's error events as JSON lines.
// Prints {"ready": true, ...} on stdout once it listens; stops on SIGTERM or SIGINT.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

import Provider, { errors } from 'oidc-provider';

import { applyMutations, configureMutations, configureTls } from './mutations.mjs';

const settings = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const started = Date.now();

function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, alg: 'PS256', use: 'sig', kid: crypto.randomUUID() },
    { ...ec, alg: 'ES256', use: 'sig', kid: crypto.randomUUID() },
  ];
}

// RFC 4514 DN ("CN=a,O=b,C=GB") against node's subject ("C=GB\nO=b\nCN=a"): compare as sets.
function dnSet(dn, separator) {
  return new Set(dn.split(separator).map((part) => part.trim()).filter(Boolean)
    .map((part) => {
      const i = part.indexOf('=');
      return `${part.slice(0, i).trim().toUpperCase()}=${part.slice(i + 1).trim()}`;
    }));
}

function sameDn(rfc4514, nodeSubject) {
  const a = dnSet(rfc4514, ',');
  const b = dnSet(nodeSubject, '\n');
  return a.size === b.size && [...a].every((x) => b.has(x));
}

const events = fs.openSync(settings.eventsFile, 'a');
function logEvent(record) {
  fs.writeSync(events, `${JSON.stringify({ ts: Date.now() / 1000, ...record })}\n`);
}

const keys = signingKeys();
// Per-client FAPI enforcement (provider_policy/downgrade): the clients that are not FAPI 2.0.
const controlClients = new Set(settings.controlClients || []);
const configuration = {
  clients: settings.clients,
  jwks: { keys },
  clientAuthMethods: ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'],
  responseTypes: ['code'],
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub, name: `${sub} Example`, given_name: sub, family_name: 'Example',
          email: `${sub}@example.test`, email_verified: true,
        };
      },
    };
  },
  // Per-client FAPI enforcement (provider_policy/downgrade): PKCE is required of every client
  // on the FAPI 2.0 profile (all but the non-FAPI control clients, see features.fapi.profile).
  pkce: { required: (ctx) => ctx.oidc.isFapi('2.0') === '2.0' },
  // FAPI 2.0 SP 5.3.2.1: a client assertion's aud is the issuer, as a string (item 8, as
  // oidc-provider's FAPI 2.0 default checks), and its iat is at most 60 s ahead (item 13:
  // oidc-provider itself checks iat only when the assertion has no exp).
  async assertJwtClientAuthClaimsAndHeader(ctx, claims) {
    if (claims.aud !== ctx.oidc.issuer) {
      throw new errors.InvalidClientAuth('audience (aud) must equal the issuer identifier url');
    }
    if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + 60) {
      throw new errors.InvalidClientAuth('iat (issued at) must not be more than 60 seconds in the future');
    }
  },
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'PS256',
    token_endpoint_auth_method: 'private_key_jwt',
  },
  enabledJWA: {
    idTokenSigningAlgValues: ['PS256', 'ES256'],
    clientAuthSigningAlgValues: ['PS256', 'ES256'],
    dPoPSigningAlgValues: ['ES256', 'PS256'],
    userinfoSigningAlgValues: ['PS256', 'ES256'],
  },
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 60,
    IdToken: 300,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 3600,
  },
  // Refresh tokens are issued to clients that may use the grant and ask for offline_access;
  // they stay sender-constrained and are not rotated (FAPI 2.0 SP 5.3.2.1).
  rotateRefreshToken: () => false,
  // Refresh, id_token and keys plan: every client allowed the refresh_token grant gets a refresh
  // token (FAPI 2.0 needs no offline_access; the library's default asks for that scope and
  // prompt=consent).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: true },
    // Per-client FAPI enforcement (provider_policy/downgrade): every client is on the FAPI 2.0
    // profile except the non-FAPI control clients (settings.controlClients).
    fapi: { enabled: true, profile: (ctx, client) => (controlClients.has(client?.clientId) ? undefined : '2.0') },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
    dPoP: { enabled: true, nonceSecret: crypto.randomBytes(32), requireNonce: () => true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      selfSignedTlsClientAuth: true,
      getCertificate: (ctx) => ctx.socket.getPeerX509Certificate() || undefined,
      certificateAuthorized: (ctx) => ctx.socket.authorized === true,
      certificateSubjectMatches(ctx, property, expected) {
        if (property !== 'tls_client_auth_subject_dn') return false;
        const cert = ctx.socket.getPeerX509Certificate();
        return Boolean(cert) && sameDn(expected, cert.subject);
      },
    },
    userinfo: { enabled: true },
    // The claims request parameter (OIDC Core 5.5), for the id_token plan.
    claimsParameter: { enabled: true },
    // Token introspection (RFC 7662), so that the binding of the opaque access tokens (cnf.jkt,
    // cnf.x5t#S256) can be checked; clients authenticate as at the token endpoint.
    introspection: { enabled: true },
  },
};
configureMutations(settings.mutations || [], configuration, settings);
const provider = new Provider(settings.issuer, configuration);

// Error responses hide their reason (error_detail); log it so the harness can show it as evidence.
const emit = provider.emit.bind(provider);
provider.emit = (name, ...args) => {
  if (name.endsWith('.error') || name === 'server_error') {
    const [ctx, err] = args.length > 1 ? args : [undefined, args[0]];
    logEvent({
      event: name,
      test: ctx?.get('x-fapi-harness-test') || undefined,
      method: ctx?.method,
      path: ctx?.path,
      client_id: ctx?.oidc?.client?.clientId,
      error: err?.error ?? err?.name,
      error_description: err?.error_description ?? err?.message,
      error_detail: err?.error_detail,
    });
  }
  return emit(name, ...args);
};

// FAPI 2.0 clients may send x-fapi-interaction-id; echo it (or mint one) as certified deployments do.
provider.use(async (ctx, next) => {
  const id = ctx.get('x-fapi-interaction-id') || crypto.randomUUID();
  ctx.set('x-fapi-interaction-id', id);
  await next();
});

// A mutant target (harness/targets/mutants.toml) breaks one requirement on purpose; the honest
// reference target has no mutations.
applyMutations(settings.mutations || [], {
  provider,
  keys,
  settings,
  redirectUris: settings.clients.flatMap((c) => c.redirect_uris),
});

const tlsOptions = {
  key: fs.readFileSync(settings.tls.key),
  cert: fs.readFileSync(settings.tls.cert),
  ca: [fs.readFileSync(settings.tls.clientCa)],
  requestCert: true,
  rejectUnauthorized: false, // self_signed_tls_client_auth certificates must still get through
  minVersion: 'TLSv1.2',
  // BCP 195 / FAPI 2.0 SP 5.2.2: TLS 1.2 only with ECDHE and AES-GCM; TLS 1.3 stays on.
  ciphers: [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
  ].join(':'),
  honorCipherOrder: true,
};
// TLS mutants (mutations.mjs TLS_MUTATIONS) weaken these settings; the honest target keeps them.
configureTls(settings.mutations || [], tlsOptions);
const server = https.createServer(tlsOptions, provider.callback());

function stop() {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// When the launching process dies without stopping us (SIGKILL), stop too: nothing is left behind.
if (settings.parentPid) {
  setInterval(() => {
    try { process.kill(settings.parentPid, 0); } catch { stop(); }
  }, 500).unref();
}

server.listen(settings.port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({
    ready: true,
    issuer: settings.issuer,
    pid: process.pid,
    startup_ms: Date.now() - started,
    mutations: settings.mutations || [],
  })}\n`);
});
