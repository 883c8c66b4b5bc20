// A pass-through HTTP/2 (h2c) proxy that remembers the last failed gRPC status.
//
// Why: @lakehouse-rs/flight-sql-client 0.0.10 reports every failure as a fixed
// phrase ("failed to prepare statement", "failed setting up flight sql
// client") and drops the server's gRPC code and message, which the tests
// assert on. The proxy sits between the client and the server in the same
// process (so the server sees the same uid on loopback), forwards every frame
// unchanged, and reads grpc-status/grpc-message from the responses. The
// client still does all of its own encoding and decoding.

import http2 from 'node:http2';

const {
  HTTP2_HEADER_AUTHORITY, HTTP2_HEADER_SCHEME, HTTP2_HEADER_STATUS, NGHTTP2_CANCEL,
} = http2.constants;

// codeNames are gRPC's status codes spelled as Go's codes.Code.String().
const codeNames = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound',
  'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition',
  'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss',
  'Unauthenticated',
];

const UNAVAILABLE = 14;

// describe renders a status as Go's status.Error does:
// "rpc error: code = Unauthenticated desc = ...".
export function describe({ code, message }) {
  return `rpc error: code = ${codeNames[code] ?? `Code(${code})`} desc = ${message}`;
}

// grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2, "Responses").
function decodeMessage(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(s.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// startStatusProxy listens on 127.0.0.1 (random port) and forwards to host:port.
// failure() is the last non-OK status seen, or null; failed resolves when
// the first one is seen.
export async function startStatusProxy(host, port) {
  const target = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let failure = null;
  let upstream = null;
  let signal;
  const failed = new Promise((resolve) => { signal = resolve; });
  const record = (h) => {
    const code = h['grpc-status'];
    if (code !== undefined && code !== '0') {
      failure = { code: Number(code), message: decodeMessage(String(h['grpc-message'] ?? '')) };
      signal(failure);
    }
  };
  const unavailable = (e) => {
    failure ??= { code: UNAVAILABLE, message: e.message };
    signal(failure);
  };
  const session = () => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = http2.connect(target);
      upstream.on('error', unavailable);
    }
    return upstream;
  };

  const server = http2.createServer();
  server.on('stream', (down, headers) => {
    // :authority and :scheme are set by the upstream session, as the client
    // would have set them talking to the server directly.
    const req = {};
    for (const [k, v] of Object.entries(headers)) {
      if (k !== HTTP2_HEADER_AUTHORITY && k !== HTTP2_HEADER_SCHEME) req[k] = v;
    }
    let up;
    try {
      up = session().request(req);
    } catch (e) {
      unavailable(e);
      down.close(NGHTTP2_CANCEL);
      return;
    }
    let trailers = {};
    up.on('response', (h) => {
      const res = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') || k === HTTP2_HEADER_STATUS) res[k] = v;
      if (h['grpc-status'] !== undefined) {
        // Trailers-only response: how gRPC servers send most errors.
        record(h);
        down.respond(res, { endStream: true });
        return;
      }
      down.respond(res, { waitForTrailers: true });
      up.pipe(down);
    });
    up.on('trailers', (t) => { record(t); trailers = t; });
    down.on('wantTrailers', () => down.sendTrailers(trailers));
    up.on('error', (e) => { unavailable(e); if (!down.destroyed) down.close(NGHTTP2_CANCEL); });
    down.on('error', () => { if (!up.destroyed) up.close(NGHTTP2_CANCEL); });
    down.pipe(up);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    failure: () => failure,
    failed,
    close: () => { server.close(); upstream?.close(); },
  };
}
