// A real OAuth2 authorization server (oauth2-mock-server) and an API that
// checks its signed tokens, for iorready's connector tests. Loopback only;
// prints {"issuer": ..., "api": ...} on stdout when ready and stops when
// stdin closes (the test process ends).
//
// The mock server accepts any client and any refresh token by default; the
// hooks below add what a real server does: client secret checking,
// single-use refresh tokens (rotation), and a short token lifetime
// (TOKEN_LIFETIME seconds) that the API enforces.
const { OAuth2Server } = require('oauth2-mock-server');
const jose = require('jose');
const http = require('node:http');
const basicAuth = require('basic-auth');

(async () => {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const issuer = server.issuer.url;
  const state = {
    validRefresh: process.env.INITIAL_REFRESH || 'refresh-0',
    lifetime: Number(process.env.TOKEN_LIFETIME || 3600),
    tokens: 0,
    rejected: 0,
  };
  server.service.on('beforeTokenSigning', (token) => {
    token.payload.exp = Math.floor(Date.now() / 1000) + state.lifetime;
  });
  server.service.on('beforeResponse', (resp, req) => {
    const creds = basicAuth(req);
    const id = creds ? creds.name : req.body.client_id;
    const secret = creds ? creds.pass : req.body.client_secret;
    if (id !== 'iorready' || secret !== 'client-secret-1') {
      resp.statusCode = 401;
      resp.body = { error: 'invalid_client', error_description: 'client authentication failed' };
      state.rejected += 1;
      return;
    }
    if (req.body.grant_type === 'refresh_token') {
      if (req.body.refresh_token !== state.validRefresh) {
        resp.statusCode = 400;
        resp.body = { error: 'invalid_grant', error_description: 'refresh token already used or unknown' };
        state.rejected += 1;
        return;
      }
      state.validRefresh = resp.body.refresh_token;
    }
    state.tokens += 1;
  });
  const jwks = jose.createRemoteJWKSet(new URL(issuer + '/jwks'));
  const api = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state));
      return;
    }
    const auth = req.headers.authorization || '';
    try {
      await jose.jwtVerify(auth.replace(/^Bearer /, ''), jwks, { issuer });
    } catch (e) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'token expired or invalid' }));
      return;
    }
    const offset = Number(url.searchParams.get('offset') || 0);
    const limit = Number(url.searchParams.get('limit') || 2);
    const items = [];
    for (let i = offset; i < Math.min(offset + limit, 6); i++) items.push({ id: i });
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items }));
    }, Number(process.env.PAGE_DELAY_MS || 0));
  });
  api.listen(0, '127.0.0.1', () => {
    console.log(JSON.stringify({ issuer, api: 'http://127.0.0.1:' + api.address().port }));
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
})();
