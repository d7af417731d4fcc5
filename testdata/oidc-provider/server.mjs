// A certified OpenID Provider (node-oidc-provider) for the tests, started by
// test_kit::CertifiedProvider on a free loopback port: one user, two confidential
// clients (ID tokens signed RS256 and ES256), the development login and consent pages,
// RP-initiated logout.
//
// Prints one line `READY <issuer>` once it accepts connections, and exits when its
// standard input closes (so it never outlives the test that started it).
//
// Environment: CALLBACK (the clients' redirect URI), SIGNED_OUT (their post-logout
// redirect URI), CLIENT_SECRET (both clients' secret).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const callback = process.env.CALLBACK;
const signedOut = process.env.SIGNED_OUT;
const clientSecret = process.env.CLIENT_SECRET;
if (!callback || !signedOut || !clientSecret) {
  console.error('server.mjs: CALLBACK, SIGNED_OUT and CLIENT_SECRET must be set');
  process.exit(2);
}

// Fresh signing keys every run: nothing to leak, nothing to rotate.
function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` };
}

const client = (id, alg) => ({
  client_id: id,
  client_secret: clientSecret,
  redirect_uris: [callback],
  post_logout_redirect_uris: [signedOut],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: alg,
});

const person = {
  email: 'ada.lovelace@example.org',
  email_verified: true,
  name: 'Ada Lovelace',
  groups: ['analytical-engine', 'finance'],
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [client('s3proxy-rs256', 'RS256'), client('s3proxy-es256', 'ES256')],
    jwks: {
      keys: [
        signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
        signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
      ],
    },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // Any login name signs in as itself; the claims are the one person's.
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, ...person };
        },
      };
    },
  });
  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
