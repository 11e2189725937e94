// A reverse proxy built the way the http-proxy README shows, with the usual error handler.
// http-proxy reports its own proxyTimeout as ECONNRESET ("socket hang up"), so a handler cannot
// tell a timeout from a reset: 504 only for a connect ETIMEDOUT, 502 for everything else.
'use strict';
const http = require('http');
const httpProxy = require('http-proxy');

const fs = require('fs');

const [listenPort, upstream, refused, blackhole, acceptClose, acceptReset, timeoutMs, tlsPorts, caFile, tlsName] =
  process.argv.slice(2);
const routes = [
  ['/__refused/', refused], ['/__blackhole/', blackhole],
  ['/__accept_close/', acceptClose], ['/__accept_reset/', acceptReset],
];
// TLS upstreams (https targets), verified against upfault's CA and name: /__tls/ and the TLS endpoints.
const tlsRoutes = tlsPorts.split(',').map((entry) => entry.split('='));
const ca = fs.readFileSync(caFile);
const proxy = httpProxy.createProxyServer({ proxyTimeout: Number(timeoutMs), timeout: 30000 });

proxy.on('error', (err, req, res) => {
  if (res.headersSent) { res.destroy(); return; }
  res.writeHead(err.code === 'ETIMEDOUT' ? 504 : 502, { 'Content-Type': 'text/plain' });
  res.end(`proxy error: ${err.code || err.message}\n`);
});

http.createServer((req, res) => {
  const tls = tlsRoutes.find(([prefix]) => req.url.startsWith(prefix));
  if (tls) {
    proxy.web(req, res, { target: { protocol: 'https:', host: '127.0.0.1', port: Number(tls[1]), ca, servername: tlsName },
                          secure: true });
    return;
  }
  const route = routes.find(([prefix]) => req.url.startsWith(prefix));
  proxy.web(req, res, { target: `http://127.0.0.1:${route ? route[1] : upstream}` });
}).listen(Number(listenPort), '127.0.0.1');
